#!/bin/sh
# cli_trace.sh -- `bpcheck trace` and `bpcheck quiz` as a student meets them:
# the labels, the order, the indices of wide layers, the factors of each
# delta, the notation table, --matrix, --dot, --mutant, and quiz sessions
# run from a script.  Run by `make check`.
set -u
top="${srcdir:-$(dirname "$0")/..}"
. "$top/tests/clilib.sh"

# ok CONDITION-STATUS DESCRIPTION: counts a shell test.
ok() {
  if [ "$1" -eq 0 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $2"
  fi
}
# line_of TEXT: the number of the first line of the last output with TEXT.
line_of() { grep -nF -- "$1" "$tmp/out" | head -1 | cut -d: -f1; }
# aligned: every line of the last output with a value and a label has its
# value at the same column (the label, which may hold " = ", cut first).
aligned() {
  sed -n 's/  ([^()]*)$//p' "$tmp/out" | grep '^  .* = ' |
    awk '{ i = 0; s = $0; p = 0
           while ((i = index(s, " = ")) > 0) { p += i + 2; s = substr(s, i + 3) }
           print p }' | sort -u | wc -l
}

# Labels: the targets carry the cost's equation, a^0 = x is a definition.
expect 0 "trace cce" -- trace --layers 2,3 --activations softmax \
  --cost categorical_cross_entropy
grep -E '^  y_0 .*\(COST\.4\)$' "$tmp/out" >/dev/null
ok $? "the targets of a categorical cross entropy are labelled (COST.4)"
grep -F '(COST.1)' "$tmp/out" >/dev/null
ok $((1 - $?)) "no (COST.1) beside a categorical cross entropy"
grep -E '^  a\^0_0 = x_0 .*\(definition\)$' "$tmp/out" >/dev/null
ok $? "a^0_0 = x_0 is a definition, not (FC.1)"

# Order: a softmax output's a^L_k after every z^L_i.
expect 0 "trace softmax order" -- trace --layers 2,3,3 \
  --activations tanh,softmax --cost categorical_cross_entropy
[ "$(line_of 'a^2_0 = e^z^2_0')" -gt "$(line_of 'z^2_2 = sum_j')" ]
ok $? "a^2_0 of a softmax is printed after z^2_2, which it needs"
contains out "delta^2_1 = a^2_1 sum_i y_i - y_1" \
  "the softmax + categorical cross entropy delta (COST.6), its layer index"
contains out "sum_i a^2_i dC/da^2_i" "the softmax sum is its own line"
expect 0 "trace softmax mse" -- trace --layers 2,3,3 \
  --activations tanh,softmax --cost mse
contains out "delta^2_1 = a^2_1 (dC/da^2_1 - sum_i a^2_i dC/da^2_i)" \
  "the softmax delta through the Jacobian (ACT.8), its layer index"
expect 0 "trace sigmoid cross entropy" -- trace --layers 2,2 \
  --activations sigmoid --cost cross_entropy
contains out "delta^1_0 = a^1_0 - y_0" "the sigmoid + cross entropy delta (COST.7)"

# Two-digit indices: a comma between k and j, and the values aligned.
expect 0 "trace wide" -- trace --layers 11,12,1
contains out "z^1_11 = sum_j W^1_11,j a^0_j + b^1_11" "W^1_11,j, not W^1_11j"
contains out "dC/da^1_10 = sum_k W^2_k,10 delta^2_k" "W^2_k,10, not W^2_k10"
contains out "dC/dW^1_11,10 = a^0_10 delta^1_11" "the gradient's indices"
grep -E 'W\^[0-9]+_[0-9]+j|W\^[0-9]+_k[0-9]' "$tmp/out" >/dev/null
ok $((1 - $?)) "no index run together"
[ "$(aligned)" -eq 1 ]
ok $? "every value of a wide trace in the same column"

# The factors of each delta, Nielsen's names and the notation table.
expect 0 "trace factors" -- trace --layers 2,3,1
contains out "dC/da^2_0 = a^2_0 - y_0" "dC/da with its formula"
contains out "f_2'(z^2_0) = sigmoid'(z^2_0)" "f'(z) of the output, a line"
contains out "dC/da^1_2 = sum_k W^2_k,2 delta^2_k" "the backward sum, a line"
contains out "delta^1_2 = dC/da^1_2 f_1'(z^1_2)" "delta from its factors"
contains out "(FC.4 = BP1)" "BP1"
contains out "(FC.5 = BP2)" "BP2"
contains out "(FC.7 = BP3)" "BP3"
contains out "(FC.6 = BP4)" "BP4"
contains out "the receiving node, in layer l    (Nielsen: j)" "notation: k"
contains out "the emitting node, in layer l-1   (Nielsen: k)" "notation: j"
contains out "the nodes of layer l are 0..n_l-1" "notation: 0-based"
[ "$(aligned)" -eq 1 ]
ok $? "every value in the same column"

# The two-node chain in the trace's names (proofs/03).
expect 0 "trace chain" -- trace --layers 1,1,1
contains out "w_2 = W^2_0,0, delta_1 = delta^1_0" "the chain's names mapped"
contains out "dC/da^1_0 = sum_k W^2_k,0 delta^2_k" "delta_1's factor w_2 delta_2"
grep -F 'W^2_0,0' "$top/proofs/03-two-node-chain.md" >/dev/null &&
  grep -F 'delta^1_0' "$top/proofs/03-two-node-chain.md" >/dev/null
ok $? "proofs/03 maps w_2 and delta_1 to the trace's names"
grep -F 'lib/net.c' "$top/proofs/05-matrix-form.md" >/dev/null
ok $? "proofs/05 says where step 6 is run"

# --matrix: the six steps.
expect 0 "trace matrix" -- trace --layers 2,3,1 --matrix --eta 0.5
for step in "step 1: forward" "step 2: the error of the output layer" \
  "step 3: the errors of the hidden layers" "step 4: the gradient of the w" \
  "step 5: the gradient of the biases" "step 6: the update"; do
  contains out "$step" "--matrix prints $step"
done
contains out "D^2 = grad_A C (.) f_2'(Z^2)" "(MX.2)"
contains out "(MX.3 = BP2)" "(MX.3)"
contains out "dC/dW^1 = D^1 (A^0)^T = delta^1 (a^0)^T, an outer product" \
  "B = 1: the outer product"
contains out "(lower)" "step 6 lowers the cost"
expect 0 "trace matrix batch" -- trace --layers 2,2,2 --batch 3 --matrix \
  --activations relu,softmax --cost categorical_cross_entropy
contains out "dC/dW^1 = D^1 (A^0)^T = sum_s D^1_s (A^0_s)^T" "the batch form"
contains out "(give --eta E to take the step)" "step 6 without --eta"
expect 2 "eta without matrix" -- trace --layers 2,1 --eta 0.1
expect 2 "bad eta" -- trace --layers 2,1 --matrix --eta -1

# --dot: a graph Graphviz renders.
expect 0 "trace dot" -- trace --layers 2,3,1 --dot "$tmp/net.dot"
grep -F 'W^2_0,1 = ' "$tmp/net.dot" >/dev/null
ok $? "every edge labelled W^l_k,j with its value"
grep -F 'delta^1_2 = ' "$tmp/net.dot" >/dev/null
ok $? "every node with its delta"
if command -v dot >/dev/null 2>&1; then
  dot -Tsvg "$tmp/net.dot" >"$tmp/net.svg" 2>"$tmp/dot.err" &&
    grep -q '<svg' "$tmp/net.svg" && [ ! -s "$tmp/dot.err" ]
  ok $? "dot -Tsvg renders the graph without a warning"
else
  echo "cli_trace: graphviz absent: dot -Tsvg skipped"
fi
expect 2 "dot unwritable" -- trace --layers 2,1 --dot "$tmp/no/such/dir/x.dot"
contains err "cannot write" "says so"

# --mutant: the wrong lines marked, the violated equation named.
expect 0 "trace mutant" -- trace --layers 2,3,2 --mutant df_of_a
contains out "mutant df_of_a: violates (ACT.1)" "the equation named"
contains out "WRONG, right: " "a wrong line marked with the right value"
contains out "the first is f_2'(z^2_0) (ACT.1)" "the first wrong line"
expect 0 "trace mutant recursion" -- trace --layers 2,3,2 \
  --mutant not_transposed
contains out "the first is dC/da^1_0 (FC.5 = BP2)" "the sum of (FC.5) first"
expect 2 "trace bad mutant" -- trace --layers 2,1 --mutant nope
contains err "unknown mutant 'nope'" "names it"

# quiz: the right answers (the trace's values, in its order) from a script.
# answers STOP TRACE-ARGS...: the trace's value of every asked quantity;
# STOP = batch: not the batch's lines (a batch of one is not asked them).
answers() {
  stop=$1
  shift
  "$bpcheck" trace "$@" | awk -v stop="$stop" \
    '$0 ~ "^" stop ":" { exit } /^  / { print }' |
    sed 's/  ([^()]*)$//' | awk -F' = ' '
      { q = $1; sub(/^ +/, "", q) }
      q ~ /^(z\^|a\^[1-9]|C_|C$|delta\^|dC\/dW\^|dC\/db\^)/ ||
      (q ~ /^dC\/da\^/ && $0 !~ /sum_k W/) {
        v = $NF; gsub(/ /, "", v); print v }'
}
# quiz_with FILE ARGS...: bpcheck quiz ARGS with FILE on stdin.
quiz_with() {
  input=$1
  shift
  ${BPCHECK_WRAPPER:-} "$bpcheck" quiz "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
}
answers batch --layers 2,3,1 >"$tmp/right"
[ "$(wc -l <"$tmp/right")" -eq 27 ]
ok $? "27 answers for a 2-3-1 network (8 forward, C, dC/da, 4 deltas, 13 gradients)"
quiz_with "$tmp/right" --layers 2,3,1
ok $? "quiz: the right answers exit 0"
contains out "quiz: 27 of 27 right" "every answer right"
contains out "y_0 = " "the target given"
# One wrong answer (delta^1_0, the 12th) exits 1 and shows its factors.
sed '12s/.*/0.5/' "$tmp/right" >"$tmp/one-wrong"
quiz_with "$tmp/one-wrong" --layers 2,3,1
ok $(($? != 1)) "quiz: one wrong answer exits 1"
contains out "wrong: delta^1_0 = -0.003528033632" "the right value"
contains out "dC/da^1_0 = sum_k W^2_k,0 delta^2_k = -0.01536295867" \
  "its factor dC/da^1_0"
contains out "f_1'(z^1_0) = sigmoid'(z^1_0) = 0.2296454549" "its factor f'"
contains out "quiz: 26 of 27 right" "the count"
# Judged at the precision typed: z^1_0 = 0.5869688441.
{ echo 0.587; sed -n '2,$p' "$tmp/right"; } >"$tmp/three-digits"
quiz_with "$tmp/three-digits" --layers 2,3,1
ok $? "0.587 is z^1_0 = 0.5869688 to the three digits typed"
{ echo 0.5869; sed -n '2,$p' "$tmp/right"; } >"$tmp/four-digits"
quiz_with "$tmp/four-digits" --layers 2,3,1
ok $(($? != 1)) "0.5869 is not z^1_0 = 0.5869688 to four digits"
contains out "the digits you typed allow 5e-05" "the tolerance typed"
contains out "W^1_0,1 = -0.3000864631" "the factors of z: the weights"
{ echo 5.87e-1; sed -n '2,$p' "$tmp/right"; } >"$tmp/exponent"
quiz_with "$tmp/exponent" --layers 2,3,1
ok $? "5.87e-1 is three digits too"
{ echo zero; sed -n '2,$p' "$tmp/right"; } >"$tmp/nan"
quiz_with "$tmp/nan" --layers 2,3,1
ok $(($? != 1)) "a word is a wrong answer"
contains out "not a number" "says so"
head -5 "$tmp/right" >"$tmp/short"
quiz_with "$tmp/short" --layers 2,3,1
ok $(($? != 1)) "stdin ending early exits 1"
contains out "stdin ended after 5 of 27 questions" "says so"
# A softmax network and a batch of two: the batch's gradient is asked too.
set -- --layers 2,3,3 --activations tanh,softmax \
  --cost categorical_cross_entropy --batch 2 --seed 4
answers none "$@" >"$tmp/right2"
quiz_with "$tmp/right2" "$@"
ok $? "quiz of a softmax network, batch 2, answered right"
contains out "[sample 1] delta^2_2 = a^2_2 sum_i y_i - y_2" \
  "the samples named"
expect 0 "quiz help" -- quiz --help
contains out "one number per line" "quiz --help"
expect 2 "quiz without layers" -- quiz
expect 2 "quiz bad option" -- quiz --layers 2,1 --frob

# Targets in the output's range (--targets range, the default), or the
# cost's whole domain (--targets any).
targets() { # the y_k values of the last trace
  grep -E '^  y_[0-9]+ ' "$tmp/out" | sed 's/  ([^()]*)$//' |
    awk -F' = ' '{ v = $NF; gsub(/ /, "", v); print v }'
}
expect 0 "softmax targets" -- trace --layers 2,4 --activations softmax \
  --batch 5 --seed 9
[ "$(targets | grep -cx 1)" -eq 5 ] && [ "$(targets | grep -cx 0)" -eq 15 ]
ok $? "one-hot targets after softmax: one 1 and three 0 per sample"
expect 0 "sigmoid targets" -- trace --layers 2,3 --batch 6 --seed 9
targets | awk '$1 <= 0 || $1 >= 1 { bad = 1 } END { exit bad }'
ok $? "targets in (0, 1) after sigmoid"
expect 0 "tanh targets" -- trace --layers 2,3 --activations tanh --batch 6
targets | awk '$1 <= -1 || $1 >= 1 { bad = 1 } END { exit bad }'
ok $? "targets in (-1, 1) after tanh"
expect 0 "any targets" -- trace --layers 2,3 --batch 6 --seed 9 --targets any
targets | awk '$1 < 0 || $1 > 1 { out = 1 } END { exit !out }'
ok $? "--targets any: the old N(0,1) targets, outside (0, 1)"
expect 0 "gen any" -- gen --layers 2,3 --seed 9 --targets any -o "$tmp/any.json"
expect 0 "gen range" -- gen --layers 2,3 --seed 9 -o "$tmp/range.json"
sed 's/"targets".*//' "$tmp/any.json" >"$tmp/any.head"
sed 's/"targets".*//' "$tmp/range.json" >"$tmp/range.head"
cmp -s "$tmp/any.head" "$tmp/range.head"
ok $? "gen: the same parameters and inputs, only the targets differ"
cmp -s "$tmp/any.json" "$tmp/range.json"
ok $((1 - $?)) "gen: the targets differ"
expect 2 "bad targets" -- gen --layers 2,3 --targets onehot
contains err "--targets: 'onehot' is not range or any" "names it"

# Every answer wrong: the factors of every kind of quantity.
set -- --layers 2,3,3 --activations tanh,softmax \
  --cost categorical_cross_entropy --batch 2 --seed 4
sed 's/.*/ 1e9 /' "$tmp/right2" >"$tmp/all-wrong"
quiz_with "$tmp/all-wrong" "$@"
ok $(($? != 1)) "every answer wrong exits 1"
contains out "quiz: 0 of $(wc -l <"$tmp/right2") right" "none right"
contains out "sum_i a^2_i dC/da^2_i = " "the softmax delta's factor, the sum"
contains out "z^2_2 = sum_j W^2_2,j a^1_j + b^2_2 = " "softmax a: every z"
contains out "      r = 0.5" "the batch's factor r"
contains out "sample 1: dC/dW^2_2,1 = " "the batch's gradient from the samples"
contains out "sample 1: C_1 = " "the batch's cost from the samples"
answers batch --layers 2,2,2 --seed 2 >"$tmp/right3"
sed 's/.*/1e9/' "$tmp/right3" >"$tmp/all-wrong3"
quiz_with "$tmp/all-wrong3" --layers 2,2,2 --seed 2 --digits 4
ok $(($? != 1)) "every answer of a sigmoid network wrong exits 1"
contains out "dC/da^2_1 = a^2_1 - y_1 = " "the output delta's factor dC/da"
contains out "f_2'(z^2_1) = sigmoid'(z^2_1) = " "the output delta's factor f'"
{ echo "0.5 x"; sed -n '2,$p' "$tmp/right3"; } >"$tmp/garbage"
quiz_with "$tmp/garbage" --layers 2,2,2 --seed 2
contains out "not a number" "a number followed by a word is not a number"
# A case file, as trace and quiz take it.
expect 0 "gen a case" -- gen --layers 2,2,1 --seed 5 -o "$tmp/case.json"
expect 0 "trace a case" -- trace "$tmp/case.json"
contains out "from $tmp/case.json" "names the file"
answers batch "$tmp/case.json" >"$tmp/right4"
quiz_with "$tmp/right4" "$tmp/case.json"
ok $? "quiz of a case file answered right"
expect 2 "trace no case" -- trace "$tmp/none.json"
expect 2 "quiz no case" -- quiz "$tmp/none.json"
expect 2 "quiz both" -- quiz --layers 2,1 "$tmp/case.json"
contains err "not both" "explains"
expect 2 "quiz digits" -- quiz --layers 2,1 --digits 0
expect 0 "trace help" -- trace --help
contains out "--mutant NAME" "trace --help lists --mutant"
contains out "--targets T" "trace --help lists --targets"
expect 2 "trace bad option" -- trace --layers 2,1 --frob
# The other costs' dC/da, a network without a hidden layer, a mutant that
# changes nothing here.
expect 0 "trace mse" -- trace --layers 2,2 --cost mse
contains out "dC/da^1_0 = 2 (a^1_0 - y_0) / n_L" "mse's dC/da"
expect 0 "trace cross entropy" -- trace --layers 2,2 --cost cross_entropy
contains out "dC/da^1_1 = (a^1_1 - y_1) / (a^1_1 (1 - a^1_1))" "CE's dC/da"
expect 0 "trace matrix, one layer" -- trace --layers 2,2 --matrix
contains out "(no hidden layer)" "step 3 without a hidden layer"
expect 0 "trace mutant, no change" -- trace --layers 2,2 \
  --mutant softmax_diagonal
contains out "no line changes on this network" "says so"

echo "cli_trace: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
