#!/bin/sh
# cli_model.sh -- bpcheck model --exec: a convolutional model behind the
# protocol (examples/model_conv.py, NumPy) passes; each bug planted in its
# hand-written backward pass fails with its tensor, and one wrong entry is
# named exactly, in full and directional mode; a model that answers an
# error, hangs or prints nonsense ends with exit 3.  The along form (a
# direction sent once, then steps along it) gives the same reports as theta
# in full, a model that mishandles it exits 3, and its traffic is measured
# at 10^6 parameters (tests/candidates/model_big.py).  Skipped (77) without
# numpy for /usr/bin/python3.
set -u
/usr/bin/python3 -c 'import numpy' 2>/dev/null || {
  echo "cli_model: /usr/bin/python3 has no numpy: skipped"
  exit 77
}
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
model="${srcdir:-$(dirname "$0")/..}/examples/model_conv.py"

# The report without its requests line: the along form (the default for
# a model that supports it) and theta in full (--no-along) give the same.
same_as_full() {
  grep -v '^requests:' "$tmp/out" >"$tmp/along"
  "$bpcheck" "$@" --no-along 2>&1 </dev/null | grep -v '^requests:' \
    >"$tmp/full"
  check "$mode: the same report with theta in full" -- \
    cmp -s "$tmp/along" "$tmp/full"
}

for mode in full directional; do
  expect 0 "a right conv model, $mode" -- model --exec "$model" --mode $mode
  contains out "PASS: the gradient agrees" "$mode: says so"
  contains out "71 parameters in 4 tensors" "$mode: the tensors"
  contains out " along " "$mode: the along form used"
  same_as_full model --exec "$model" --mode $mode
  BPCHECK_EXAMPLE_BUG=kernel_flipped expect 1 "kernel flipped, $mode" -- \
    model --exec "$model" --mode $mode
  contains out "tensor conv.weight: its directions disagree" "$mode: named"
  check "$mode: only conv.weight" -- sh -c "! grep -q 'tensor fc\\.' '$tmp/out'"
  BPCHECK_EXAMPLE_BUG=missing_term expect 1 "tanh' missing, $mode" -- \
    model --exec "$model" --mode $mode
  contains out "tensor conv.bias: its directions disagree" "$mode: named"
  BPCHECK_EXAMPLE_BUG=one_entry expect 1 "one wrong entry, $mode" -- \
    model --exec "$model" --mode $mode
  contains out "wrong entry fc.weight[1,5]:" "$mode: the entry named exactly"
  check "$mode: that entry only" -- \
    test "$(grep -c '^wrong entry' "$tmp/out")" -eq 1
  BPCHECK_EXAMPLE_BUG=one_entry same_as_full model --exec "$model" \
    --mode $mode
  BPCHECK_EXAMPLE_BUG=kernel_flipped expect 1 "kernel flipped, $mode" -- \
    model --exec "$model" --mode $mode
  BPCHECK_EXAMPLE_BUG=kernel_flipped same_as_full model --exec "$model" \
    --mode $mode
  expect 0 "theta in full, $mode" -- model --exec "$model" --mode $mode \
    --no-along
  check "$mode: no along form with --no-along" -- \
    sh -c "! grep -q ' along ' '$tmp/out'"
done

# A model that mishandles the along form: exit 3, the fault named.
BPCHECK_EXAMPLE_BUG=along_ack expect 3 "a wrong answer to a direction" -- \
  model --exec "$model"
contains err 'must be {"direction": 1}' "what it must answer"
BPCHECK_EXAMPLE_BUG=along_unknown expect 3 "directions forgotten" -- \
  model --exec "$model"
contains err "an error to a loss request along a direction" "named"
contains err "unknown direction 1" "its message shown"
BPCHECK_EXAMPLE_BUG=along_base expect 3 "steps from the wrong theta0" -- \
  model --exec "$model"
contains err "it mishandles the along form" "named"
contains err "when the same point is sent in full" "how it was seen"
cat >"$tmp/hangs.sh" <<'EOF'
read l
echo '{"supports": ["along"], "parameters": [{"name": "w", "shape": [1], "values": [0.5]}]}'
read l
echo '{"loss": 0.125, "gradient": [[0.5]]}'
read l
sleep 30
EOF
start=$(date +%s)
expect 3 "a model that hangs on a direction" -- model --exec \
  "sh '$tmp/hangs.sh'" --timeout 2
check "returns within --timeout + 3 s" -- test $(($(date +%s) - start)) -le 5
contains err "timed out" "named"
contains err "along direction 1" "at the direction"
expect 3 "a bad supports list" -- model --exec \
  "sh -c 'read l; echo {\\\"supports\\\": \\\"along\\\", \\\"parameters\\\": [{\\\"name\\\": \\\"w\\\", \\\"shape\\\": [1], \\\"values\\\": [1]}]}; sleep 5'"
contains err '"supports" must be a list of strings' "the field named"

# 10^6 parameters, directional: a few hundred loss requests, and the
# traffic of each form.  bytes FILE: the bytes sent, from "X MB sent".
bytes() {
  sed -n 's/.*; \([0-9.e+]*\) \([kMGT]*B*\)[a-z]* sent.*/\1 \2/p' "$1" |
    awk '{ m = 1; if ($2 == "kB") m = 1e3; if ($2 == "MB") m = 1e6;
           if ($2 == "GB") m = 1e9; if ($2 == "TB") m = 1e12;
           printf "%.0f\n", $1 * m }'
}
big="${srcdir:-$(dirname "$0")/..}/tests/candidates/model_big.py"
expect 0 "10^6 parameters" -- model --exec "$big" --timeout 60
contains out "1000008 parameters in 2 tensors" "its size"
contains out "4 random directions" "directional"
loss=$(sed -n 's/^requests: \([0-9]*\) loss.*/\1/p' "$tmp/out")
check "at most 300 loss requests at 3 points ($loss)" -- test "$loss" -le 300
check "under 200 MB sent ($(bytes "$tmp/out") bytes)" -- \
  test "$(bytes "$tmp/out")" -lt 200000000
BPCHECK_EXAMPLE_BUG=one_entry expect 1 "10^6 parameters, one wrong entry" \
  -- model --exec "$big" --timeout 60 --points 0
contains out "wrong entry embedding.weight[617,42]:" "named exactly"
loss=$(sed -n 's/^requests: \([0-9]*\) loss.*/\1/p' "$tmp/out")
check "at most 300 loss requests ($loss)" -- test "$loss" -le 300
# 50,008 parameters with and without the form (10^6 without it sends some
# 1.5 GB: doc/reference.md): the along form sends 10 times less, or better.
BPCHECK_BIG_ROWS=50 expect 0 "5 * 10^4 parameters, along" -- \
  model --exec "$big" --points 0
along=$(bytes "$tmp/out")
BPCHECK_BIG_ROWS=50 BPCHECK_BIG_ALONG=0 expect 0 "5 * 10^4, in full" -- \
  model --exec "$big" --points 0
full=$(bytes "$tmp/out")
echo "cli_model: 50,008 parameters: $along bytes sent along, $full in full"
check "a tenth of the traffic or less" -- test $((10 * along)) -le "$full"
# PyTorch: a convolution and a hand-written autograd.Function (its backward
# planted wrong: conv.weight and conv.bias, upstream of it, named; fc not).
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  torch_model="${srcdir:-$(dirname "$0")/..}/examples/model_torch.py"
  expect 0 "a right PyTorch model" -- model --exec "$torch_model"
  BPCHECK_EXAMPLE_BUG=softsign expect 1 "a custom backward wrong" -- \
    model --exec "$torch_model" --mode directional
  contains out "tensor conv.weight: its directions disagree" "named"
  contains out "tensor conv.bias: its directions disagree" "named too"
  check "fc is right" -- sh -c "! grep -q '^tensor fc' '$tmp/out'"
else
  echo "cli_model: /usr/bin/python3 has no torch: the PyTorch model skipped"
fi

# The model's failures: exit 3, each named; a hang within --timeout.
BPCHECK_EXAMPLE_BUG=error expect 3 "an error answer" -- model --exec "$model"
contains err "it answered with an error: planted" "the message shown"
start=$(date +%s)
expect 3 "a model that hangs" -- model --exec 'sleep 30' --timeout 2
check "returns within --timeout + 3 s" -- test $(($(date +%s) - start)) -le 5
contains err "timed out" "named"
expect 3 "nonsense" -- model --exec 'echo nonsense; sleep 5'
contains err "not a JSON object" "named"
expect 3 "a parameter without values" -- model --exec \
  "sh -c 'read l; echo {\\\"parameters\\\": [{\\\"name\\\": \\\"w\\\", \\\"shape\\\": [2]}]}; sleep 5'"
contains err "parameters[0] needs" "the field named"
expect 2 "a model that declines" -- model --exec \
  "sh -c 'read l; echo {\\\"skip\\\": \\\"no GPU\\\"}; sleep 5'"
contains err "declined (skip): no GPU" "the reason shown"
# Usage.
expect 2 "no --exec" -- model
expect 2 "bad mode" -- model --exec true --mode sideways
expect 0 "help" -- model --help
contains out '{"request": "gradient"' "help shows the protocol"
echo "cli_model: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
