#!/bin/sh
# edge_verdicts.sh -- issue 11: `bpcheck verify` owes every case of the table
# of extreme cases (tests/exact/edge_cases.py) a verdict that follows from
# the exact cost and gradient alone (tests/exact/bpexact.py, mpmath at 60
# digits confirmed at 90), in each of --mode full, directional and auto:
#   0  every exact answer (rounded to double), every relu-kink subgradient,
#      a careful float64 implementation's answer (NumPy: another summation
#      order), a float32 implementation's answer with --precision single;
#   1  zeros, negated or x1000 answers of tiny (and ordinary) gradients, a
#      float32 answer at the default double precision;
#   2  only where the exact cost or gradient is not a finite double, with a
#      message that names the quantity (never "expected inf").
# The expected exit of each row and where it comes from are in the
# manifest edge_cases.py writes (the "why" column, printed on a failure).
# Then a randomized campaign: EDGE_CAMPAIGN (default 30) random gen cases,
# seeds BPCHECK_SEED (default 1100) onwards, weights and biases x10 or
# x100, answered exactly: never refused.  A failing campaign case prints
# its seed and architecture; BPCHECK_SEED=S EDGE_CAMPAIGN=1 runs it alone.
# EDGE_KEEP=DIR writes the cases (and the manifest) to DIR and keeps them;
# EDGE_TABLE=FILE saves the verdicts (name, mode, expected, got).
# Skipped (77) when /usr/bin/python3 has no mpmath or numpy.
set -u
/usr/bin/python3 -c 'import mpmath, numpy' 2>/dev/null || {
  echo "edge_verdicts: /usr/bin/python3 has no mpmath or numpy: skipped"
  exit 77
}
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
exact="${srcdir:-$(dirname "$0")/..}/tests/exact"

# The oracle checks itself against central differences in mpmath first.
if /usr/bin/python3 "$exact/bpexact.py" --selftest >"$tmp/out" 2>&1; then
  pass=$((pass + 1))
else
  fail=$((fail + 1))
  echo "FAIL: bpexact.py --selftest"
  sed 's/^/  /' "$tmp/out"
fi

seed=${BPCHECK_SEED:-1100}
cases=${EDGE_KEEP:-$tmp/cases}
/usr/bin/python3 "$exact/edge_cases.py" --bpcheck "$bpcheck" \
  --campaign "${EDGE_CAMPAIGN:-30}" --seed "$seed" "$cases" \
  >"$tmp/out" 2>&1 || {
  echo "FAIL: edge_cases.py could not write the table (campaign seed $seed)"
  sed 's/^/  /' "$tmp/out"
  echo "edge_verdicts: $pass passed, $((fail + 1)) failed"
  exit 1
}

# verdict NAME FILE PRECISION EXPECTED WHY MODE: one run of verify.
verdict() {
  ${BPCHECK_WRAPPER:-} "$bpcheck" verify "$cases/$2" --precision "$3" \
    --mode "$6" >"$tmp/out" 2>"$tmp/err" </dev/null
  got=$?
  bad=""
  [ "$got" -eq "$4" ] || bad="exit $got, expected $4"
  # exit 2 must name what is not finite, never compare infinities (or
  # NaNs: "expected -nan, received -1e-100" names nothing either)
  if [ -z "$bad" ] && [ "$4" -eq 2 ] &&
    grep -qiE 'expected -?(inf|nan)' "$tmp/out" "$tmp/err"; then
    bad="exit 2, but the message says 'expected inf' (or nan)"
  fi
  if [ -z "$bad" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1 [--mode $6 --precision $3]: $bad"
    echo "  case: $5"
    # the lines that say why: the verdict, the worst entry, the diagnosis
    cat "$tmp/out" "$tmp/err" >"$tmp/both"
    grep -E '^(FAIL|PASS|worst|likely|bpcheck)' "$tmp/both" >"$tmp/why" ||
      grep -v '^ *$' "$tmp/both" >"$tmp/why"
    head -n 3 "$tmp/why" | sed 's/^/  | /'
  fi
  printf '%s\t%s\t%s\t%s\n' "$1" "$6" "$4" "$got" >>"$tmp/verdicts"
}

tab=$(printf '\t')
while IFS="$tab" read -r name file precision expected why; do
  for mode in full directional auto; do
    verdict "$name" "$file" "$precision" "$expected" "$why" "$mode"
  done
done <"$cases/manifest"

[ -n "${EDGE_TABLE:-}" ] && cp "$tmp/verdicts" "$EDGE_TABLE"

echo "edge_verdicts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
