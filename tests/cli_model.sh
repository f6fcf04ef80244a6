#!/bin/sh
# cli_model.sh -- bpcheck model --exec: a convolutional model behind the
# protocol (examples/model_conv.py, NumPy) passes; each bug planted in its
# hand-written backward pass fails with its tensor, and one wrong entry is
# named exactly, in full and directional mode; a model that answers an
# error, hangs or prints nonsense ends with exit 3.  Skipped (77) without
# numpy for /usr/bin/python3.
set -u
/usr/bin/python3 -c 'import numpy' 2>/dev/null || {
  echo "cli_model: /usr/bin/python3 has no numpy: skipped"
  exit 77
}
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
model="${srcdir:-$(dirname "$0")/..}/examples/model_conv.py"

for mode in full directional; do
  expect 0 "a right conv model, $mode" -- model --exec "$model" --mode $mode
  contains out "PASS: the gradient agrees" "$mode: says so"
  contains out "71 parameters in 4 tensors" "$mode: the tensors"
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
done
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
