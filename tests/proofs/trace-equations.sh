#!/bin/sh
# trace-equations.sh -- both ways between proofs/ and lib/: every equation
# that proofs/README.md marks "yes" (implemented) is cited in lib/, and every
# label cited in lib/ is defined (\tag{...}) in a proofs/*.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top="${srcdir:-$here/../..}"
labels='(ACT|COST|CH|FC|MX|CD|CS|DR|TY|AF|WD|IN)\.[0-9]+'
implemented=$(grep -E "^\| \(${labels}\) .*\| yes \|$" "$top/proofs/README.md" |
  grep -oE "^\| \(${labels}\)" | grep -oE "$labels" | sort -u)
cited=$(cat "$top"/lib/*.c "$top"/lib/*.h | grep -oE "\(${labels}\)" |
  grep -oE "$labels" | sort -u)
defined=$(cat "$top"/proofs/*.md | grep -oE "tag\{${labels}\}" |
  grep -oE "$labels" | sort -u)
pass=0 fail=0
for l in $implemented; do
  if printf '%s\n' "$cited" | grep -qx "$l"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: ($l) is marked implemented but lib/ never cites it"
  fi
done
for l in $cited; do
  if printf '%s\n' "$defined" | grep -qx "$l"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: lib/ cites ($l), which no proofs/*.md defines"
  fi
done
[ -n "$implemented" ] || { fail=$((fail + 1)); echo "FAIL: no implemented labels found"; }
echo "trace-equations: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
