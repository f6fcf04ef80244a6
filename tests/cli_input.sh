#!/bin/sh
# cli_input.sh -- bounded input: case files over --max-bytes refused before
# they are parsed (a big file fast and in little memory, a pipe, a device),
# a FIFO without a writer, options with empty numbers or stray commas,
# --max-params for gen and trace, and field paths in the messages.
set -u
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A 20 MB case (spaces, then a valid case) with --max-params 10000: its
# bound is 120 bytes a parameter plus 1 MiB, 2248576 bytes.
expect 0 "gen" -- gen --layers 2,3,1 --seed 3 -o "$tmp/small.json"
head -c 20000000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
cat "$tmp/small.json" >>"$tmp/big.json"
start=$(now_ms)
expect 2 "a 20 MB case" -- verify "$tmp/big.json" --max-params 10000
took=$(($(now_ms) - start))
contains err "more than the limit of 2248576 bytes" "names the bound"
contains err "(--max-bytes" "and the option"
check "refused within a second (took $took ms)" -- test "$took" -lt 1000
if [ -x /usr/bin/time ] &&
  /usr/bin/time -v true >/dev/null 2>&1; then
  /usr/bin/time -v "$bpcheck" verify "$tmp/big.json" --max-params 10000 \
    >/dev/null 2>"$tmp/time"
  kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
  check "using under 100 MB (${kb:-?} KB)" -- test "${kb:-999999}" -lt 100000
else
  echo "cli_input: no /usr/bin/time -v: the memory is not measured"
fi
# The same through a pipe: refused while it is read.
cat "$tmp/big.json" | "$bpcheck" verify - --max-params 10000 \
  >"$tmp/out" 2>"$tmp/err"
check "a 20 MB pipe is refused (exit 2)" -- test $? -eq 2
contains err "(stdin): longer than the limit of 2248576 bytes" "while read"
expect 2 "an endless device" -- verify /dev/zero --max-params 10000
contains err "/dev/zero: longer than the limit" "names the bound"
expect 2 "an explicit --max-bytes" -- verify "$tmp/small.json" --max-bytes 10
contains err "more than the limit of 10 bytes" "names it"
expect 2 "a bad --max-bytes" -- verify "$tmp/small.json" --max-bytes ''
expect 2 "a directory" -- verify "$tmp"
contains err "is a directory" "says so"

# A FIFO: read when a writer comes; without one, refused after 10 s.
if mkfifo "$tmp/fifo" 2>/dev/null; then
  (sleep 1 && cat "$tmp/small.json" >"$tmp/fifo") &
  expect 2 "a FIFO whose writer comes late" -- verify "$tmp/fifo"
  contains err 'no "gradients" to verify' "is read"
  wait
  start=$(now_ms)
  expect 2 "a FIFO without a writer" -- verify "$tmp/fifo"
  took=$(($(now_ms) - start))
  contains err "nothing to read within 10 s" "is refused"
  check "within 10 + 5 s (took $took ms)" -- test "$took" -lt 15000
fi

# Options: empty numbers, stray commas, size limits.
expect 2 "--rtol ''" -- verify "$tmp/small.json" --rtol ''
contains err "--rtol: '' is not a tolerance" "names it"
expect 2 "--rtol ' 1'" -- verify "$tmp/small.json" --rtol ' 1'
expect 2 "--atol ''" -- verify "$tmp/small.json" --atol ''
expect 2 "--tolerance-scale ''" -- selftest --tolerance-scale ''
expect 2 "a trailing comma in --layers" -- gen --layers 2,1,
contains err "'2,1,' ends with a comma" "names it"
expect 2 "a stray comma in --activations" -- gen --layers 2,3,1 \
  --activations sigmoid,
contains err "has an empty item" "names it"
expect 2 "a stray comma in a SPACE list" -- selftest --costs quadratic,,mse
expect 2 "gen over --max-params" -- gen --layers 100,100 --max-params 1000
contains err "10100 parameters exceed the limit of 1000" "names the limit"
expect 2 "gen over the default --max-params" -- gen --layers 10000,10000
expect 2 "gen, a batch over --max-params" -- gen --layers 2,1 --batch 400 \
  --max-params 1000
expect 2 "trace over --max-params" -- trace --layers 10000,10000
contains err "100010000 parameters exceed the limit of 10000000" "names it"
expect 2 "trace, a huge listing" -- trace --layers 1000,1000
contains err "more than --max-lines 100000" "refused unless asked"
expect 0 "trace, a listing asked for" -- trace --layers 30,30 \
  --max-lines 10000
expect 2 "trace, a case over --max-params" -- trace "$tmp/small.json" \
  --max-params 5
expect 2 "trace, a case over --max-bytes" -- trace "$tmp/small.json" \
  --max-bytes 10

# Field paths.
case_with() { # TEXT: a case with those fields after bpcheck and layers
  printf '{"bpcheck":1,%s}\n' "$1" >"$tmp/field.json"
}
case_with '"layers":[2,1],"cost":"cross_entropy","weights":[[[1,2]]],"biases":[[0]],"inputs":[[1,2]],"targets":[[1.5]]'
expect 2 "a target outside [0,1]" -- verify "$tmp/field.json"
contains err "field 'targets[0][0]': 1.5 is outside [0,1]" "its path"
case_with '"layers":[2,1],"cost":"cross_entropy","weights":[[[1,2]]],"biases":[[0]],"inputs":[[1,2],[0,0]],"targets":[[0.5],[-1]]'
expect 2 "the second sample's target" -- verify "$tmp/field.json"
contains err "field 'targets[1][0]'" "its path"
case_with '"layers":[2,2,1],"activations":["softmax","sigmoid"],"weights":[[[1,2],[1,1]],[[1,2]]],"biases":[[0,0],[0]],"inputs":[[1,2]],"targets":[[1]]'
expect 2 "a hidden softmax" -- verify "$tmp/field.json"
contains err "field 'activations[0]': softmax is only allowed" "its path"
case_with '"layers":[2,2,1],"activations":"softmax","weights":[[[1,2],[1,1]],[[1,2]]],"biases":[[0,0],[0]],"inputs":[[1,2]],"targets":[[1]]'
expect 2 "softmax for every layer" -- verify "$tmp/field.json"
contains err "field 'activations': softmax is only allowed" "its path"
case_with '"layers":[2,1],"activations":"relu","cost":"cross_entropy","weights":[[[1,2]]],"biases":[[0]],"inputs":[[1,2]],"targets":[[0.5]]'
expect 2 "a cost the output cannot take" -- verify "$tmp/field.json"
contains err "field 'cost': cross_entropy needs outputs in (0,1)" "its path"
case_with '"layers":[2,1],"weights":[[[1,2]]],"biases":[[0]],"inputs":[[1,"x"]],"targets":[[0.5]]'
expect 2 "an input that is not a number" -- verify "$tmp/field.json"
contains err "field 'inputs[0][1]'" "its path"

echo "cli_input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
