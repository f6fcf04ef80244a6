#!/bin/sh
# cli_decay.sh -- weight decay and input gradients through the command
# (proofs/10-weight-decay.md): `gen --weight-decay` writes it and refuses a
# bad lambda; `verify` passes the exact answer (tests/exact/bpexact.py) and
# a NumPy one (tests/candidates/bugs.py) and fails, with the named
# diagnosis, each planted decay bug; dC/da^0 in "gradients": right passes,
# a wrong entry fails and is named, a transposed one is refused with a
# message; `run --weight-decay` passes the right candidate, names each
# decay bug, and checks the input gradients an answer carries; `trace` and
# `selftest` honour it.  Fixed seeds.  Skipped (77) when /usr/bin/python3
# has no numpy or mpmath.
set -u
/usr/bin/python3 -c 'import numpy, mpmath' 2>/dev/null || {
  echo "cli_decay: /usr/bin/python3 has no numpy or mpmath: skipped"
  exit 77
}
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
top="${srcdir:-$(dirname "$0")/..}"
bugs="/usr/bin/python3 $top/tests/candidates/bugs.py"
exact="/usr/bin/python3 $top/tests/exact/bpexact.py"

# answer MODE CASE OUT: CASE with bugs.py MODE's answer as its "gradients"
answer() {
  /usr/bin/python3 - "$1" "$2" "$3" "$top/tests/candidates/bugs.py" <<'PY'
import json, subprocess, sys
mode, src, dst, bugs = sys.argv[1:]
case = json.load(open(src))
out = subprocess.run(["/usr/bin/python3", bugs, mode], input=json.dumps(case)
                     + "\n", capture_output=True, text=True, check=True)
case["gradients"] = json.loads(out.stdout)
json.dump(case, open(dst, "w"))
PY
}

# gen writes lambda; a negative or non-numeric one is refused.
expect 0 "gen --weight-decay" -- gen --layers 3,4,2 --batch 4 \
  --activations tanh,sigmoid --weight-decay 0.25 --seed 3 -o "$tmp/c.json"
check "gen writes weight_decay" -- grep -qF '"weight_decay":0.25' "$tmp/c.json"
expect 0 "gen --help" -- gen --help
contains out "--weight-decay L" "gen --help names --weight-decay"
expect 2 "gen --weight-decay -1" -- gen --layers 2,1 --weight-decay -1
contains err "--weight-decay: '-1' is not a number >= 0" "a negative lambda"
expect 2 "gen --weight-decay x" -- gen --layers 2,1 --weight-decay x
sed 's/"weight_decay":0.25/"weight_decay":-2/' "$tmp/c.json" >"$tmp/neg.json"
expect 2 "a negative weight_decay" -- verify "$tmp/neg.json"
contains err "neg.json: field 'weight_decay': -2 is negative" \
  "names the file and the field"

# The exact answer (mpmath), with dC/da^0, passes; a wrong one fails.
$exact --answer --inputs "$tmp/c.json" >"$tmp/exact.json"
expect 0 "the exact answer with decay" -- verify "$tmp/exact.json"
contains out "weight_decay 0.25" "verify prints lambda"
contains out "PASS: all 26 entries" "the parameters pass"
contains out "PASS: dC/da^0 (IN.1): 0 of 12 input-gradient entries differ" \
  "the input gradients pass"
for mode in full directional; do
  expect 0 "the exact answer, --mode $mode" -- verify --mode $mode \
    "$tmp/exact.json"
done
$exact --answer --scale 1.001 "$tmp/c.json" >"$tmp/scaled.json"
expect 1 "the exact answer x1.001" -- verify "$tmp/scaled.json"
$exact --answer --float32 "$tmp/c.json" >"$tmp/f32.json"
expect 0 "a float32 answer with decay, --precision single" -- verify \
  --precision single "$tmp/f32.json"
expect 1 "a float32 answer with decay at double" -- verify "$tmp/f32.json"

# NumPy: right passes; each decay bug is named.
answer right "$tmp/c.json" "$tmp/right.json"
expect 0 "bugs.py right" -- verify "$tmp/right.json"
verify_bug() { # MODE TEXT
  answer "$1" "$tmp/c.json" "$tmp/$1.json"
  expect 1 "bugs.py $1" -- verify "$tmp/$1.json"
  contains out "likely bug: $2" "bugs.py $1 diagnosed"
  expect 1 "bugs.py $1, --json" -- verify --json "$tmp/$1.json"
  contains out '"bug":"weight_decay"' "bugs.py $1: the JSON names the bug"
}
verify_bug decay_missing "the weight decay is missing"
verify_bug decay_biases "the biases are decayed too"
verify_bug decay_over_b "lambda is divided as the data term is"
verify_bug decay_twice "dC/dW^l gains 2 lambda W^l"

# dC/da^0: a wrong entry is named; transposed, refused with a message.
answer inputs "$tmp/c.json" "$tmp/in.json"
expect 0 "right input gradients" -- verify "$tmp/in.json"
answer inputs_entry "$tmp/c.json" "$tmp/in_bad.json"
expect 1 "a wrong input gradient" -- verify "$tmp/in_bad.json"
contains out "FAIL: dC/da^0 (IN.1): 1 of 12 input-gradient entries differ" \
  "the count"
contains out "wrong: inputs[0][0] = dC/da^0_0 of sample 0" "the entry named"
contains out "PASS: all 26 entries" "the parameters still pass"
expect 1 "a wrong input gradient, --json" -- verify --json "$tmp/in_bad.json"
contains out '"wrong":[{"entry":"inputs[0][0]"' "the JSON names the entry"
/usr/bin/python3 - "$tmp/in.json" "$tmp/in_t.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
dx = c["gradients"]["inputs"]
c["gradients"]["inputs"] = [list(r) for r in zip(*dx)]
json.dump(c, open(sys.argv[2], "w"))
PY
expect 2 "transposed input gradients" -- verify "$tmp/in_t.json"
contains err "field 'gradients.inputs': expected 4 rows (one per sample) of 3 numbers, got 3 rows of 4: transposed?" \
  "the transposition named"

# run: decay through the protocol; each bug named; input gradients checked.
expect 0 "run right, decay" -- run --exec "$bugs right" --weight-decay 0.5 \
  --trials 40 --seed 1
contains out "40 passed, 0 failed" "all pass"
expect 0 "run --help" -- run --help
contains out "--weight-decay L" "run --help names --weight-decay"
run_bug() { # MODE TEXT
  expect 1 "run $1" -- run --exec "$bugs $1" --weight-decay 0.5 --trials 40 \
    --seed 1
  contains out "likely bug: $2" "run $1 diagnosed"
  contains out "weight_decay 0.5" "run $1: the case shows lambda"
}
run_bug decay_missing "the weight decay is missing"
run_bug decay_biases "the biases are decayed too"
run_bug decay_over_b "lambda is divided as the data term is"
# A decay bug the table does not list: named per layer; an L1 decay:
# named in the shrunk case, and the experiments place it in the decay's
# term, not in the batch reduction or a derivative (WD.8).
run_bug decay_last "the weight decay's term is wrong in some layers only"
expect 1 "run decay_l1, sum" -- run --exec "$bugs decay_l1" --weight-decay 0.5 \
  --trials 40 --seed 1 --reductions sum
contains out "likely bug: dC/dW^l gains" "decay_l1 diagnosed as the decay"
contains out "without the weight decay (lambda = 0): it passed: the bug is in the weight decay's term" \
  "decay_l1: passes without the decay"
contains out "(batch doubled): the same error, where the data term doubled" \
  "decay_l1: the error does not follow the batch"
check "decay_l1: no experiment says reduction or derivative" -- sh -c \
  "! grep '^  the shrunk' '$tmp/out' | grep -q 'sums over\\|derivative'"
expect 1 "run without --weight-decay, decaying candidate" -- run \
  --exec "$bugs decay_biases" --trials 5 --seed 1 --weight-decay 0.001
expect 0 "run inputs" -- run --exec "$bugs inputs" --weight-decay 0.5 \
  --trials 40 --seed 1
contains out "input gradients dC/da^0: 40 answers had them, all within tolerance" \
  "input gradients checked"
expect 1 "run inputs_entry" -- run --exec "$bugs inputs_entry" --trials 40 \
  --seed 1
contains out "FAIL: input gradients dC/da^0 wrong in 40 of the 40 answers" \
  "wrong input gradients fail the run"
contains out "inputs[0][0] = dC/da^0_0 of sample 0" "the entry named"

# trace and selftest
expect 0 "trace --weight-decay" -- trace --layers 2,2,1 --weight-decay 0.5 \
  --seed 2
contains out "plus the weight decay lambda/2 sum_l ||W^l||^2, lambda = 0.5 (WD.1)" \
  "trace says the cost has the decay"
contains out "+ lambda W" "trace's batch gradient has lambda W"
expect 0 "selftest --weight-decay" -- selftest --weight-decay 0.75 \
  --trials 100 --seed 5
contains out "weight decay: 0.75" "selftest describes lambda"

echo "cli_decay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
