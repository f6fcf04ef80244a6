#!/bin/sh
# cli_run.sh -- `run --exec` with candidates that have exactly one bug each
# (tests/candidates/bugs.py, examples/numpy_backprop.py): the bug named on
# the shrunk case and on the original, the 1-1 / batch 1 ambiguity resolved
# by the original, a float32 candidate named as precision, one-layer
# networks without a sentence about later layers, --keep-going's failure
# rate and groups, skips counted and all-skipped runs, --save-failure's two
# files, the SPACE options --min-width and --same-width, the answer
# messages (column biases, NaN, pretty-printed answers) and run --help.
# The seeds are fixed whatever $BPCHECK_SEED says.  Skipped (77) when
# /usr/bin/python3 has no numpy.
set -u
/usr/bin/python3 -c 'import numpy' 2>/dev/null || {
  echo "cli_run: /usr/bin/python3 has no numpy: skipped"
  exit 77
}
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
top="${srcdir:-$(dirname "$0")/..}"
bugs="/usr/bin/python3 $top/tests/candidates/bugs.py"
example="/usr/bin/python3 $top/examples/numpy_backprop.py"
lacks() { # FILE TEXT DESCRIPTION: the last command's FILE has no TEXT
  if grep -qF -- "$2" "$tmp/$1"; then
    fail=$((fail + 1))
    echo "FAIL: $3: '$2' in $1:"
    sed 's/^/  /' "$tmp/$1"
  else pass=$((pass + 1)); fi
}

# --help: every SPACE option, with the layers it restricts.
expect 0 "run --help" -- run --help
for opt in --max-depth --max-width --min-width --same-width --max-batch \
  --activations --output --costs --reductions --same-hidden --keep-going \
  --max-failures '{"skip": "reason"}' '.original'; do
  contains out "$opt" "run --help names $opt"
done
contains out "--activations LIST the HIDDEN layers' activations" \
  "--activations restricts the hidden layers"
contains out "--output LIST      the OUTPUT layer's activation" \
  "--output restricts the output layer"
lacks out "selftest --help" "run --help is complete"
expect 0 "selftest --help" -- selftest --help
contains out "--same-width" "selftest lists --same-width too"

# A right candidate: a pass, what it covered and its worst margin.
expect 0 "a right candidate" -- run --exec "$bugs right" --trials 20 --seed 1
contains out "covered (the 20 cases answered" "the coverage summary"
contains out "  depth L" "depths covered"
contains out "  activations  sigmoid" "activations covered"
contains out "  costs        quadratic" "costs covered"
contains out "  reductions   mean" "reductions covered"
contains out "  largest" "the largest network"
contains out "worst margin: " "the worst margin"
contains out "20 passed, 0 failed" "the count"

# The 1-1 / batch 1 ambiguity: the output derivative missing shrinks to a
# 1-1 network at batch 1, where it is a constant factor; the original names
# it, and the report says which case each diagnosis comes from.
expect 1 "f_L' missing" -- run --exec "$bugs no_fprime" --trials 20 --seed 1 \
  --output sigmoid --costs quadratic --save-failure "$tmp/fp.json"
contains out "shrunk in" "shrunk"
contains out "to: 1-1 sigmoid quadratic" "to a 1-1 network"
contains out "likely bug: the output layer's activation derivative is missing" \
  "named from the original"
contains out "(from the original case, 16-3-4-2" "says it is the original's"
contains out "on the shrunk case alone: every entry is" \
  "the shrunk case's constant factor shown"
contains out "every error looks like a constant factor" "why it is ambiguous"
# The experiments tell the factor hypotheses apart.
contains out "experiments (the candidate on variants of the shrunk case):" \
  "experiments ran"
contains out "(batch doubled): the same factor" "not the batch reduction"
contains out "with other inputs: the factor changed with the input" \
  "not a constant factor"
contains out "identity output and a quadratic cost: it passed: the bug is in the output layer's f_L'" \
  "in the output layer"
check() { # DESCRIPTION -- COMMAND...
  what=$1
  shift 2
  if "$@"; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $what"
  fi
}
check "the shrunk case saved" -- test -s "$tmp/fp.json"
check "the original case saved" -- test -s "$tmp/fp.original.json"
expect 1 "the shrunk case reproduces" -- verify "$tmp/fp.json"
contains out "every entry is" "named as a factor there"
expect 1 "the original case reproduces" -- verify "$tmp/fp.original.json"
contains out "output layer's activation derivative is missing" \
  "named there as f_L' missing"
# Where it does not shrink to one node a layer (a softmax keeps two), both
# name it.
expect 1 "f_L' missing, softmax" -- run --exec "$bugs no_fprime" --trials 20 \
  --seed 1 --output softmax --costs categorical_cross_entropy
contains out "likely bug: the output layer's activation derivative is missing" \
  "named"
contains out "(the original case and the shrunk one agree)" "by both cases"

# The example's planted bugs, each named on both cases (or on the original
# where the shrunk case is ambiguous).
run_bug() { # BUG TEXT SPACE...: BPCHECK_EXAMPLE_BUG=BUG is named TEXT
  bug=$1 text=$2
  shift 2
  BPCHECK_EXAMPLE_BUG=$bug expect 1 "bug $bug" -- run --exec "$example" \
    --trials 50 --seed 1 "$@"
  contains out "likely bug: $text" "bug $bug named"
  if grep -q "(from the original case" "$tmp/out"; then
    contains out "on the shrunk case alone:" "bug $bug: the shrunk one shown"
  else
    contains out "(the original case and the shrunk one agree)" \
      "bug $bug: named on both cases"
  fi
}
run_bug sign "a sign flip"
run_bug half "every entry is 2 times the reference: the 1/2 of the quadratic" \
  --costs quadratic
run_bug batch_sum "every entry is 2 times the reference: the batch is summed" \
  --reductions mean
run_bug bias_sum "the bias gradient is summed over the batch" \
  --reductions mean
# tests/candidates/bugs.py's, the same way.
run_mode() { # MODE TEXT: bugs.py MODE is named TEXT on both cases
  mode=$1 text=$2
  expect 1 "candidate $mode" -- run --exec "$bugs $mode" --trials 50 --seed 1
  contains out "likely bug: $text" "candidate $mode named"
  contains out "(the original case and the shrunk one agree)" \
    "candidate $mode: named on both cases"
}
run_mode transpose "dC/dW^1 is transposed"
run_mode entry "only W^1_0,0 is wrong"
run_mode bias_sign "the bias gradient of layer 1 has the wrong sign"
run_mode rounded "the answer looks rounded to 6 significant digits"
BPCHECK_EXAMPLE_BUG=batch_sum expect 1 "batch_sum, experiments" -- run \
  --exec "$example" --trials 50 --seed 1 --reductions mean
contains out "(batch doubled): its factor doubled with the batch" \
  "the batch experiment names the reduction"

# float32 at double precision: named as precision on both cases; with
# --precision single it passes.
expect 1 "float32" -- run --exec "$bugs float32" --trials 20 --seed 1
contains out "likely bug: every error is of the size float32 rounding leaves" \
  "named as precision"
contains out "--precision single" "what to do"
contains out "(the original case and the shrunk one agree)" "on both cases"
expect 0 "float32 at --precision single" -- run --exec "$bugs float32" \
  --trials 20 --seed 1 --precision single

# One-layer networks: no sentence about the layers after or below.
for bug in sign half batch_sum bias_sum no_output_derivative; do
  BPCHECK_EXAMPLE_BUG=$bug expect 1 "bug $bug, one layer" -- run \
    --exec "$example" --trials 30 --seed 1 --max-depth 0
  contains out "likely bug: " "bug $bug, one layer: diagnosed"
  lacks out "layers after" "bug $bug, one layer: no later layers"
  lacks out "layers below" "bug $bug, one layer: no layers below"
done

# --keep-going: wrong at B = 10 only, one case in ten (B is 1..10).
expect 1 "keep going" -- run --exec "$bugs one_in_ten" --trials 300 \
  --seed 1 --max-batch 10 --reductions mean --keep-going
rate=$(sed -n 's/^failure rate: .*(\([0-9.]*\)%)$/\1/p' "$tmp/out")
check "a failure rate near 10% (got '$rate')" -- \
  awk -v r="${rate:-x}" 'BEGIN { exit !(r + 0 >= 5 && r + 0 <= 15) }'
contains out "failures by diagnosis:" "grouped"
contains out "factor: every entry is 10 times the reference: the batch is summed where the cost takes the mean" \
  "with the right diagnosis"
contains out "300 cases answered" "every case sent"
expect 1 "--max-failures" -- run --exec "$bugs one_in_ten" --trials 300 \
  --seed 1 --max-batch 10 --reductions mean --keep-going --max-failures 2
contains out ", 2 failed (stopped after" "stops after 2 failures"
expect 2 "--max-failures alone" -- run --exec "$bugs right" --max-failures 2
contains err "--max-failures goes with --keep-going" "explains"

# {"skip": ...}: counted with its reason, never a failure; all skipped: 2.
expect 0 "skips unequal widths" -- run --exec "$bugs skip_unequal" \
  --trials 40 --seed 1
contains out "40 cases from seed 1" "runs to the end"
contains out "hidden layers of unequal widths" "the reason"
skipped=$(sed -n 's/^skipped: \([0-9]*\) case.*/\1/p' "$tmp/out")
check "skips counted (got '$skipped')" -- test "${skipped:-0}" -gt 0
contains out "passed, 0 failed, $skipped skipped" "in the closing line"
expect 0 "--same-width: nothing to skip" -- run --exec "$bugs skip_unequal" \
  --trials 40 --seed 1 --same-width
lacks out "skipped" "no skips"
expect 2 "all skipped" -- run --exec "$bugs skip_all" --trials 5 --seed 1
contains out "every one of the 5 cases was skipped" "says so"
contains out "this candidate supports nothing" "with the reason"
contains err "every case was skipped" "and why it exits 2"

# --min-width: a candidate that refuses narrow layers is never asked.
expect 0 "--min-width" -- run --trials 20 --seed 1 --min-width 3 \
  --max-width 5 --exec "while read l; do case \$l in
  *'\"layers\":['[12],*|*,[12],*|*,[12]']'*) echo '{\"error\": \"narrow\"}';;
  *) $bugs right <<E
\$l
E
  ;; esac; done"
expect 2 "--min-width above --max-width" -- run --exec true --min-width 9 \
  --max-width 4
contains err "minimum width (9) is above the maximum width (4)" "explains"
expect 0 "selftest --min-width --same-width" -- selftest --trials 5 \
  --min-width 2 --same-width
contains out "widths 2-16 (one for every hidden layer)" "described"

# The answer's messages.
expect 3 "column biases" -- run --exec "$bugs column" --trials 1 --seed 1
contains err "must be a flat list of 3 numbers, not a column" "shape hint"
expect 3 "NaN" -- run --exec "$bugs nan" --trials 1 --seed 1
contains err "JSON has no NaN or Infinity" "names it"
contains err '{"error": "..."}' "says what to answer"
expect 3 "pretty-printed" -- run --exec "$bugs pretty" --trials 1 --seed 1
contains err "print the answer on one line" "says what to do"
expect 3 "an answer cut at the line's end" -- run --trials 1 --seed 1 \
  --exec 'while read l; do echo "{\"weights\": [[[1,"; sleep 5; done' \
  --timeout 2
contains err "print the answer on one line" "says what to do"

echo "cli_run: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
