#!/bin/sh
# check-broken.sh -- a checker that cannot fail is worthless: run-maxima.sh
# must reject tests/proofs/broken.mac, and name both wrong identities.
set -u
command -v maxima >/dev/null 2>&1 || { echo "maxima absent: skipped"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
dir="${srcdir:-$here/../..}/tests/proofs"
out=$("$here/run-maxima.sh" "$dir/broken.mac" 2>&1)
status=$?
fail=0
[ $status -ne 0 ] || { echo "FAIL: the broken identities passed"; fail=1; }
for name in "sigma' = sigma^2" "W not transposed"; do
  printf '%s\n' "$out" | grep -qF "$name" ||
    { echo "FAIL: '$name' not reported"; fail=1; }
done
printf '%s\n' "$out"
echo "check-broken: $((2 - fail)) passed, $fail failed"
[ $fail -eq 0 ]
