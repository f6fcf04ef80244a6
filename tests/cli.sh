#!/bin/sh
# cli.sh -- the command line: exit codes, messages, --help, the table.
# Run by `make check` (Automake sets srcdir; top_builddir is exported).
set -u
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"

expect 0 "help" -- --help
contains out "Usage: bpcheck" "help text"
contains out "Exit codes" "help lists exit codes"
expect 0 "selftest help" -- selftest --help
contains out "--max-depth" "selftest help lists SPACE"
expect 0 "version" -- --version
contains out "bpcheck " "version line"

expect 0 "a short selftest" -- selftest --trials 30 --seed 5
contains out "30 trials: 30 passed, 0 failed -- PASS" "closing line"
contains out "literal vs matrix" "table row"
contains out "backprop vs central diff" "table row"
contains out "literal vs matrix dC/da^0, error / tol." "the input gradients' row"
expect 1 "selftest at tolerance scale 0, seed 583" -- selftest --trials 1 \
  --seed 583 --tolerance-scale 0
contains out "literal vs matrix dC/da^0: inputs[0][" "a failing dC/da^0 named"
contains out "dC/da^0 vs central diff., error / tolerance" \
  "the input gradients' central differences row"
expect 1 "selftest at tolerance scale 0.01, seed 215" -- selftest --trials 1 \
  --seed 215 --tolerance-scale 0.01
contains out "literal dC/da^0 vs central differences: inputs[" \
  "dC/da^0 failing against central differences, named"
expect 0 "options of the default command" -- --trials 5 --max-depth 1
contains out "5 trials" "default command takes selftest options"
BPCHECK_SEED=42 expect 0 "BPCHECK_SEED" -- selftest --trials 2
contains out "seeds 42..43" "BPCHECK_SEED picks the seed"
expect 0 "narrowed space" -- selftest --trials 20 --activations relu \
  --output softmax --costs categorical_cross_entropy --reductions sum \
  --same-hidden --max-width 4 --max-batch 2
contains out "categorical_cross_entropy 20" "only the cost asked for"
expect 0 "json" -- selftest --trials 3 --json
contains out '"result":"pass"' "json result"
contains out '"literal_vs_matrix_inputs":{"worst_ratio":' "json: dC/da^0"
contains out '"inputs_vs_fdiff":{"worst_ratio":' "json: dC/da^0 vs fdiff"

expect 2 "unknown command" -- frobnicate
contains err "unknown command 'frobnicate'" "names the command"
expect 2 "unknown option" -- selftest --frob
contains err "unknown option '--frob'" "names the option"
expect 2 "missing value" -- selftest --trials
contains err "--trials needs a value" "names the option"
expect 2 "bad number" -- selftest --trials 12x
contains err "--trials: '12x' is not a whole number" "names the value"
expect 2 "zero trials" -- selftest --trials 0
expect 2 "bad seed" -- selftest --seed -1
BPCHECK_SEED=abc expect 2 "bad BPCHECK_SEED" -- selftest --trials 1
contains err "BPCHECK_SEED: 'abc'" "names the variable"
expect 2 "bad activation" -- selftest --activations sigmoid,swish
contains err "unknown name 'swish'" "names the activation"
expect 2 "softmax hidden" -- selftest --activations softmax
contains err "only allowed on the output layer" "explains"
expect 2 "no valid pair" -- selftest --costs categorical_cross_entropy \
  --output sigmoid
contains err "no valid pair" "explains"
expect 0 "directional mode" -- selftest --trials 10 --mode directional
contains out "not run" "the per-entry rows are marked"
contains out "10 of 10 trials checked along directions only" "and counted"
expect 2 "unknown mode" -- selftest --mode sideways
contains err "not full, directional or auto" "explains"
expect 2 "stray argument" -- selftest extra
expect 2 "too large" -- selftest --trials 1 --seed 3 --max-depth 0 \
  --max-width 1048576
contains out "reproduce: bpcheck selftest --trials 1 --seed 3" \
  "a failing trial says how to reproduce it"

# trace: the walk-through of a 2-3-1 network
expect 0 "trace" -- trace --layers 2,3,1
contains out "z^1_2 = sum_j W^1_2,j a^0_j + b^1_2" "forward, indexed"
contains out "(FC.5)" "the recursion cited"
contains out "dC/dW^1_2,1 = a^0_1 delta^1_2" "weight gradient, indexed"
contains out "dC/db^2_0 = r sum_s dC_s/db^2_0" "the batch"
[ "$(grep -c '(FC.1)$' "$tmp/out")" -eq 4 ] && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: trace prints 4 z (FC.1)"; }
[ "$(grep -c '(definition)$' "$tmp/out")" -eq 2 ] && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: trace prints 2 inputs, a^0 = x"; }
expect 0 "trace softmax" -- trace --layers 3,2 --activations softmax \
  --cost categorical_cross_entropy --batch 2 --digits 17
contains out "(ACT.8)" "softmax delta cited"
contains out "sample 1" "second sample"
expect 2 "trace without layers" -- trace
contains err "trace needs --layers" "explains"
expect 2 "trace both" -- trace --layers 2,1 some.json
contains err "not both" "explains"
expect 2 "trace bad layers" -- trace --layers 3
contains err "at least two layer sizes" "explains"
expect 2 "trace bad layers" -- trace --layers 3,0,2
expect 2 "trace activations count" -- trace --layers 3,4,2 \
  --activations tanh,tanh,tanh
contains err "3 activations for 2 layers" "explains"
expect 2 "trace invalid arch" -- trace --layers 3,4,2 --activations softmax
contains err "softmax is only allowed on the output layer" "explains"
expect 2 "trace bad cost" -- trace --layers 3,2 --cost hinge
contains err "unknown cost 'hinge'" "names the cost"
expect 2 "trace digits" -- trace --layers 3,2 --digits 18

# The selftest can fail: with no tolerance at all every trial does.
expect 1 "selftest with tolerances scaled to 0" -- selftest --trials 3 \
  --tolerance-scale 0
contains out "FAIL trial 0" "the failing trial"
contains out "reproduce: bpcheck selftest --trials 1 --seed 1 --tolerance-scale 0" \
  "how to reproduce it"
expect 1 "json failure" -- selftest --trials 2 --tolerance-scale 0 --json
contains out '"first_failure":{"trial":0,"seed":1}' "json names it"
expect 2 "bad tolerance scale" -- selftest --tolerance-scale -2

# The bug zoo.
expect 0 "mutants" -- mutants --trials 20
contains out "catch 14 of 14 mutants -- PASS" "the score"
contains out "not_transposed         (FC.5)" "a mutant and its equation"
expect 2 "mutants bad option" -- mutants --frob

# The bug zoo's table in README is lib/mutants.c's (mutants --list).
expect 0 "mutants list" -- mutants --list
sed -n '/^| mutant | violates | the bug |$/,/^$/p' \
  "${srcdir:-$(dirname "$0")/..}/README.md" | sed '1,2d;/^$/d' |
  sed 's/^| //; s/ |$//; s/ | /	/g' >"$tmp/readme_zoo"
check "README's zoo table is the library's" -- cmp -s "$tmp/out" "$tmp/readme_zoo"
expect 0 "mutants show" -- mutants --show sign_flipped
contains out "-          dW(l, k, j) += r * a[l - 1][j] * delta[l][k];" \
  "the patch against the pure line"
expect 2 "mutants show unknown" -- mutants --show none

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
