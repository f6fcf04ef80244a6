#!/bin/sh
# run-maxima.sh -- runs every proofs/*.mac (or the files given) with Maxima.
# A script prints "FAIL name" for an identity that does not simplify to 0
# and "PASSED" at its end; Maxima itself exits 0 whatever happens, so this
# driver fails on a FAIL line, on a Maxima error, or on a missing PASSED.
# Exit 77 (skipped, Automake's convention) when maxima is not installed.
set -u
command -v maxima >/dev/null 2>&1 || {
  echo "run-maxima: maxima is not installed: skipped"
  exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
proofs="${srcdir:-$here/../..}/proofs"
[ $# -gt 0 ] || set -- "$proofs"/*.mac
pass=0 fail=0
for mac in "$@"; do
  out=$(cd "$(dirname "$mac")" && timeout 600 maxima --very-quiet \
    --batch="$(basename "$mac")" 2>&1)
  if printf '%s\n' "$out" | grep -qE '^FAIL |an error\. To debug|^Maxima encountered' ||
    ! printf '%s\n' "$out" | grep -qE '^PASSED'; then
    fail=$((fail + 1))
    echo "FAIL: $(basename "$mac")"
    printf '%s\n' "$out" | grep -E '^FAIL |error|FAILED' | head -20 | sed 's/^/  /'
  else
    pass=$((pass + 1))
    echo "ok: $(basename "$mac") ($(printf '%s\n' "$out" | grep -c '^ok') checks)"
  fi
done
echo "run-maxima: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
