#!/bin/sh
# cli_validate.sh -- gen, verify and run --exec from the command line: exit
# codes, messages that name the file and field, the external protocol's
# failures, shrinking and --save-failure.
set -u
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
check() { # DESCRIPTION -- COMMAND...: a plain shell condition
  what=$1
  shift 2
  if "$@"; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $what"
  fi
}

# gen: the same seed gives the same file; another seed another.
expect 0 "gen" -- gen --layers 3,4,2 --batch 2 --seed 7 -o "$tmp/a.json"
expect 0 "gen again" -- gen --layers 3,4,2 --batch 2 --seed 7 -o "$tmp/b.json"
expect 0 "gen other seed" -- gen --layers 3,4,2 --batch 2 --seed 8 \
  -o "$tmp/c.json"
check "same seed, same file" -- cmp -s "$tmp/a.json" "$tmp/b.json"
check "other seed, other file" -- sh -c "! cmp -s '$tmp/a.json' '$tmp/c.json'"
expect 0 "gen to stdout" -- gen --layers 2,2 --activations tanh \
  --cost mse --reduction sum
contains out '"activations":"tanh","cost":"mse","reduction":"sum"' "names"
expect 2 "gen without layers" -- gen
contains err "gen needs --layers" "explains"
expect 2 "gen bad activations" -- gen --layers 3,4,2 --activations a,b,c
expect 2 "gen softmax hidden" -- gen --layers 3,4,2 --activations softmax
contains err "only allowed on the output layer" "explains"
expect 2 "gen unwritable" -- gen --layers 2,1 -o /nonexistent/x.json
contains err "cannot write" "explains"

# verify: a case without gradients, a case with right or wrong ones.
expect 2 "verify without gradients" -- verify "$tmp/a.json"
contains err 'no "gradients" to verify' "explains"
sed 's/}$/,"gradients":{"weights":[[[0,0,0],[0,0,0],[0,0,0],[0,0,0]],[[0,0,0,0],[0,0,0,0]]],"biases":[[0,0,0,0],[0,0]]}}/' \
  "$tmp/a.json" >"$tmp/zero.json"
expect 1 "verify zero gradients" -- verify "$tmp/zero.json"
contains out "FAIL:" "the verdict"
contains out "worst: " "the worst entry"
expect 1 "verify json" -- verify "$tmp/zero.json" --json
contains out '"result":"fail"' "json result"
expect 0 "verify huge tolerance" -- verify "$tmp/zero.json" --atol 100
expect 1 "verify zero gradients, directional" -- verify "$tmp/zero.json" \
  --mode directional
expect 2 "verify bad precision" -- verify "$tmp/zero.json" --precision half
expect 2 "verify bad rtol" -- verify "$tmp/zero.json" --rtol -1
expect 2 "verify no file" -- verify
expect 2 "verify missing file" -- verify "$tmp/none.json"
contains err "none.json: cannot open" "names the file"
printf '{"bpcheck": 1,\n  "layers": [2, 1]\n  "weights": []}\n' >"$tmp/bad.json"
expect 2 "verify malformed" -- verify "$tmp/bad.json"
contains err "bad.json:3:" "line and column"
printf '{"bpcheck":1,"layers":[2,1],"weights":[[[1,2]]],"biases":[[0]],"inputs":[[1,2]],"targets":[[0]],"extra":1}' >"$tmp/extra.json"
expect 2 "verify unknown key" -- verify "$tmp/extra.json"
contains err "unknown key 'extra'" "names the key"
expect 2 "verify too large" -- verify "$tmp/a.json" --max-params 10
contains err "exceed the limit of 10" "names the limit"

# run --exec: candidates that fail in every way get exit 3.
expect 2 "run without exec" -- run
contains err "run needs --exec" "explains"
expect 3 "candidate exits" -- run --exec 'exit 4' --trials 3
contains err "exited with status 4" "says how"
expect 3 "candidate hangs" -- run --exec 'sleep 30' --trials 1 --timeout 1
contains err "timed out" "says how"
expect 3 "candidate prints nonsense" -- run --trials 1 \
  --exec 'while read l; do echo nope; done'
contains err "not valid" "says which"
contains err "it printed: nope" "shows what it printed"
expect 3 "candidate answers an error" -- run --trials 1 \
  --exec 'while read l; do echo "{\"error\": \"no softplus\"}"; done'
contains err "answered with an error: no softplus" "shows its message"
expect 3 "candidate answers NaN" -- run --trials 1 \
  --exec 'while read l; do echo "{\"weights\": NaN}"; done' \
  --save-failure "$tmp/nan-case.json"
check "the case of a failed candidate is saved" -- test -s "$tmp/nan-case.json"

echo "cli_validate: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
