# clilib.sh -- what the command-line tests share (sourced): the command
# under test, a scratch directory, and checks that count passes and failures.
bpcheck="${top_builddir:-.}/src/bpcheck"
pass=0 fail=0
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

# expect CODE DESCRIPTION -- ARGS...: runs bpcheck ARGS (under
# $BPCHECK_WRAPPER, e.g. valgrind, when set) and checks the exit code.
expect() {
  code=$1 what=$2
  shift 3
  ${BPCHECK_WRAPPER:-} "$bpcheck" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  got=$?
  if [ "$got" -eq "$code" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: bpcheck $*: exit $got, expected $code"
    sed 's/^/  stdout: /' "$tmp/out"
    sed 's/^/  stderr: /' "$tmp/err"
  fi
}

# contains FILE TEXT DESCRIPTION: the last command's FILE (out, err) has TEXT.
contains() {
  if grep -qF -- "$2" "$tmp/$1"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $3: '$2' not in $1:"
    sed 's/^/  /' "$tmp/$1"
  fi
}

# check DESCRIPTION -- COMMAND...: a plain shell condition.
check() {
  what=$1
  shift 2
  if "$@"; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $what"
  fi
}
