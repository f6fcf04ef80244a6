#!/bin/sh
# cli_harness.sh -- run --exec against hostile candidates: each must end
# with exit 3 and a message that names what it did, within --timeout + 3 s,
# with none of its processes left running.
#
# Each candidate writes its pid (its process group's id: bpcheck starts it
# as a group leader) and those of the processes it starts to a file; after
# bpcheck returns, neither the group nor any of those pids may exist.
# The only clock used is the wall-time limit, deliberately generous.
set -u
. "${srcdir:-$(dirname "$0")/..}/tests/clilib.sh"
timeout=2
limit_ms=$(((timeout + 3) * 1000))
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The runs are bounded from outside too, so that a regression fails the
# test instead of hanging it.
guard=""
command -v timeout >/dev/null 2>&1 && guard="timeout 60"

# hostile NAME MESSAGE -- RUN-ARGS...: bpcheck run --timeout 2 RUN-ARGS
# (the candidate's pids go to $pids); exit 3, MESSAGE on stderr, within the
# limit, and nothing left running.
pids="$tmp/pids"
hostile() {
  name=$1 message=$2
  shift 3
  : >"$pids"
  start=$(now_ms)
  $guard "$bpcheck" run --timeout "$timeout" "$@" >"$tmp/out" 2>"$tmp/err" \
    </dev/null
  got=$?
  took=$(($(now_ms) - start))
  if [ "$got" -eq 3 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $name: exit $got, expected 3"
    sed 's/^/  stderr: /' "$tmp/err"
  fi
  contains err "$message" "$name: names what it did"
  if [ "$took" -le "$limit_ms" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $name: took $took ms, more than --timeout $timeout + 3 s"
  fi
  if [ -s "$pids" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $name: the candidate did not write its pid"
  fi
  pg=$(head -n 1 "$pids")
  left=""
  if [ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null; then
    left="its process group $pg"
  fi
  for p in $(cat "$pids"); do
    kill -0 "$p" 2>/dev/null && left="$left pid $p"
  done
  if [ -z "$left" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $name: still running after bpcheck returned:$left"
    ps -o pid,pgid,ppid,stat,args -g "$pg" 2>/dev/null | sed 's/^/  /'
    kill -9 "-$pg" 2>/dev/null
    for p in $(cat "$pids"); do kill -9 "$p" 2>/dev/null; done
  fi
}

# A case larger than a pipe's buffer: seed 1 draws a 1-304 network with a
# batch of 64 (443 KB); the seeds are fixed whatever $BPCHECK_SEED says.
big="--seed 1 --max-depth 0 --max-width 1000 --max-batch 64 --trials 3"
# A 1-1 network, batch 1: an answer of zeros has the right shape and is
# wrong, so the run fails and the failure is shrunk (its values rounded).
tiny="--seed 1 --max-depth 0 --max-width 1 --max-batch 1 --output sigmoid
  --costs quadratic --trials 3"
zeros='{"weights": [[[0]]], "biases": [[0]]}'

hostile "does not read its input, big case" \
  "timed out while bpcheck was writing the case" -- \
  --exec "echo \$\$ >'$pids'; sleep 30" $big
hostile "closes its output and keeps running" \
  "closed its output (stdout) without answering, and kept running" -- \
  --exec "echo \$\$ >'$pids'; exec >&-; sleep 30"
hostile "closes its input and keeps running, big case" \
  "closed its input (stdin) without reading the case, and kept running" -- \
  --exec "echo \$\$ >'$pids'; exec <&-; sleep 30" $big
hostile "exits, leaving a child that holds the pipes" \
  "exited with status 0" -- \
  --exec "echo \$\$ >'$pids'; sleep 30 & echo \$! >>'$pids'; exit 0"
contains err "left a process it started holding its" "and says so"
hostile "a grandchild that holds the pipes" "timed out: no answer" -- \
  --exec "echo \$\$ >'$pids'; (sleep 30 & echo \$! >>'$pids'; wait) &
    echo \$! >>'$pids'; sleep 30"
if command -v setsid >/dev/null 2>&1; then
  hostile "a grandchild in a session of its own" "timed out: no answer" -- \
    --exec "echo \$\$ >'$pids'; setsid sleep 30 & echo \$! >>'$pids';
      sleep 30"
fi
hostile "hangs while its failure is shrunk" \
  "the candidate failed while its failure was being shrunk" -- \
  --exec "echo \$\$ >'$pids'; n=0; while read l; do n=\$((n + 1));
    [ \$n -ge 2 ] && sleep 30; echo '$zeros'; done" $tiny
contains err "it timed out: no answer within 2 s" "the timeout named"
contains out "shrunk in 0 steps" "the original failure is still reported"
contains out "FAIL: 2 of 2 entries differ" "with its report"
hostile "crashes while its failure is shrunk" \
  "was killed by signal" -- \
  --exec "echo \$\$ >'$pids'; n=0; while read l; do n=\$((n + 1));
    [ \$n -ge 2 ] && kill -SEGV \$\$; echo '$zeros'; done" $tiny
contains err "while its failure was being shrunk" "when it happened"
contains out "0 passed, 1 failed" "the original failure is still reported"
# Two lines in one write: the second is there with the first.
hostile "prints two lines for one case" \
  "printed more than one line for one case" -- \
  --exec "echo \$\$ >'$pids'; while read l; do
    printf '%s\\n%s\\n' '$zeros' '$zeros'; done" $tiny
# Two writes: the second may come after the next case is sent and be read
# as its answer; it is recognised at the latest at the end of the run.
hostile "prints a second line a little later" \
  "printed more than one line for one case" -- \
  --exec "echo \$\$ >'$pids'; while read l; do echo '$zeros';
    sleep 0.2; echo '$zeros'; done" $tiny
hostile "an answer line without an end" \
  "its answer line is longer than 65664 bytes" -- \
  --exec "echo \$\$ >'$pids'; while read l; do
    head -c 100000000 /dev/zero | tr '\\0' 1; done" $tiny

# A process it leaves behind holding bpcheck's stderr does not keep a
# pipeline open.  (The candidate reads its case first: exiting before that
# is another failure, named as such, and which of the two a slow run sees
# first would depend on timing.)
: >"$pids"
start=$(now_ms)
$guard "$bpcheck" run --timeout "$timeout" \
  --exec "echo \$\$ >'$pids'; read l; sleep 30 & exit 0" 2>&1 </dev/null |
  cat >"$tmp/out"
took=$(($(now_ms) - start))
if [ "$took" -le "$limit_ms" ]; then pass=$((pass + 1)); else
  fail=$((fail + 1))
  echo "FAIL: bpcheck run 2>&1 | cat: took $took ms"
fi
contains out "left a process it started holding its" "through the pipe"

# bpcheck itself stopped (SIGTERM) while the candidate hangs: the
# candidate's group goes with it.
: >"$pids"
"$bpcheck" run --timeout 20 --exec "echo \$\$ >'$pids'; sleep 30 &
  echo \$! >>'$pids'; sleep 30" >"$tmp/out" 2>"$tmp/err" </dev/null &
run=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
  [ "$(wc -l <"$pids")" -ge 2 ] && break
  sleep 0.2
done
kill -TERM "$run"
wait "$run"
check_code=$?
if [ "$check_code" -eq 143 ]; then pass=$((pass + 1)); else
  fail=$((fail + 1))
  echo "FAIL: bpcheck stopped by SIGTERM: exit $check_code, expected 143"
fi
sleep 0.2
pg=$(head -n 1 "$pids")
left=""
[ -n "$pg" ] && kill -0 "-$pg" 2>/dev/null && left="its process group $pg"
for p in $(cat "$pids"); do kill -0 "$p" 2>/dev/null && left="$left pid $p"; done
if [ -z "$left" ]; then pass=$((pass + 1)); else
  fail=$((fail + 1))
  echo "FAIL: bpcheck stopped by SIGTERM left the candidate running:$left"
  kill -9 "-$pg" 2>/dev/null
fi

# A candidate that is right and well behaved still passes, and exits.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  example="${srcdir:-.}/examples/numpy_backprop.py"
  expect 0 "a well-behaved candidate" -- run --trials 20 --timeout 10 \
    --exec "/usr/bin/python3 $example"
fi

echo "cli_harness: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
