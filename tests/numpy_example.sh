#!/bin/sh
# numpy_example.sh -- examples/numpy_backprop.py through bpcheck: it passes
# `run --exec` and `verify`; with a bug switched on it is caught (exit 1),
# shrunk, diagnosed, and the saved failure reproduces with verify; with
# weight decay through run and gen + verify, with its input gradients, and
# its decay bugs named.
# Skipped (77) when /usr/bin/python3 has no numpy.
set -u
/usr/bin/python3 -c 'import numpy' 2>/dev/null || {
  echo "numpy_example: /usr/bin/python3 has no numpy: skipped"
  exit 77
}
bpcheck="${top_builddir:-.}/src/bpcheck"
example="${srcdir:-.}/examples/numpy_backprop.py"
pass=0 fail=0
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; cat "$tmp/out" "$tmp/err"; }

"$bpcheck" run --exec "/usr/bin/python3 $example" --trials 200 \
  >"$tmp/out" 2>"$tmp/err" && ok || bad "the example fails run --exec"
"$bpcheck" gen --layers 4,5,3 --activations relu,softmax \
  --cost categorical_cross_entropy --batch 3 |
  /usr/bin/python3 "$example" --fill >"$tmp/filled.json" &&
  "$bpcheck" verify "$tmp/filled.json" >"$tmp/out" 2>"$tmp/err" && ok ||
  bad "gen | example --fill | verify"

# Weight decay (WD.1): through run and gen + verify; with dC/da^0 (--inputs),
# which bpcheck checks entry by entry (IN.3).
"$bpcheck" run --exec "/usr/bin/python3 $example" --weight-decay 0.5 \
  --trials 100 --seed 1 >"$tmp/out" 2>"$tmp/err" && ok ||
  bad "the example fails run --weight-decay"
"$bpcheck" gen --layers 4,5,3 --activations tanh,sigmoid --batch 3 \
  --weight-decay 0.3 --seed 2 |
  /usr/bin/python3 "$example" --fill --inputs >"$tmp/decay.json" &&
  "$bpcheck" verify "$tmp/decay.json" >"$tmp/out" 2>"$tmp/err" && ok ||
  bad "gen --weight-decay | example --fill --inputs | verify"
grep -q "^PASS: dC/da^0 (IN.1): 0 of 12 input-gradient entries differ" \
  "$tmp/out" && ok || bad "verify did not check the example's dC/da^0"
BPCHECK_EXAMPLE_INPUTS=1 "$bpcheck" run --exec "/usr/bin/python3 $example" \
  --weight-decay 0.5 --trials 100 --seed 1 >"$tmp/out" 2>"$tmp/err" && ok ||
  bad "the example with input gradients fails run --weight-decay"
grep -q "^input gradients dC/da^0: 100 answers had them, all within" \
  "$tmp/out" && ok || bad "run did not check the example's dC/da^0"
for bug in decay_biases:"the biases are decayed too" \
  decay_over_b:"lambda is divided as the data term is"; do
  BPCHECK_EXAMPLE_BUG=${bug%%:*} "$bpcheck" run --weight-decay 0.5 \
    --exec "/usr/bin/python3 $example" --trials 50 --seed 1 \
    >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 1 ] && ok || bad "bug ${bug%%:*} not caught (exit 1)"
  grep -q "^likely bug: ${bug#*:}" "$tmp/out" && ok ||
    bad "bug ${bug%%:*} not named"
done
# A reduction bug under decay: the decay is shrunk away and the sum named
# (WD.8), not a decay bug or a missing derivative.
BPCHECK_EXAMPLE_BUG=batch_sum "$bpcheck" run --weight-decay 0.5 \
  --exec "/usr/bin/python3 $example" --trials 50 --seed 1 \
  >"$tmp/out" 2>"$tmp/err"
grep -q "^shrunk in [1-9][0-9]* steps to: .*mean, batch" "$tmp/out" && ok ||
  bad "batch_sum under decay: the decay not shrunk away"
grep -q "^likely bug: .*summed where the cost takes the mean" "$tmp/out" &&
  ok || bad "batch_sum under decay: the sum not named"

for bug in sign half batch_sum bias_sum no_output_derivative; do
  BPCHECK_EXAMPLE_BUG=$bug "$bpcheck" run --exec "/usr/bin/python3 $example" \
    --trials 100 --save-failure "$tmp/$bug.json" >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 1 ] && ok || bad "bug $bug not caught (exit 1)"
  grep -q "^shrunk in [1-9]" "$tmp/out" && ok || bad "bug $bug not shrunk"
  grep -q "^likely bug: " "$tmp/out" && ok || bad "bug $bug not diagnosed"
  "$bpcheck" verify "$tmp/$bug.json" >"$tmp/out" 2>"$tmp/err"
  [ $? -eq 1 ] && ok || bad "the saved failure of $bug does not reproduce"
done
BPCHECK_EXAMPLE_BUG=half "$bpcheck" run --exec "/usr/bin/python3 $example" \
  --trials 100 --costs quadratic >"$tmp/out" 2>"$tmp/err"
grep -q "1/2 of the quadratic cost is missing" "$tmp/out" && ok ||
  bad "the 1/2 of the quadratic cost is not named"

echo "numpy_example: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
