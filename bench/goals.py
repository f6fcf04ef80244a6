#!/usr/bin/python3
"""The goals of doc/performance.md, each a ratio measured in one run:
the median of R repetitions (default 5), with the smallest and the largest.

  1. `bpcheck verify --mode full` as a user runs it (the installed binary,
     whole command from spawn to exit; each repetition the median of 20
     runs) against one torch.autograd.gradcheck, 128-128-10 sigmoid, mse,
     batch 4, at one thread and at two: >= 100.
  2. The naive check (2P full forward passes) over verify's full check
     (the nodes' tables, (CD.12)) on 128-128-10 B4: >= 20; and over the
     per-entry fast check, for comparison.
  3. Matrix backprop over torch forward + backward, 1024-1024-1024-1024
     B256, same threads: >= 1.2 in every repetition.
  4. Distance to the limit of the full check: its time over the least time
     its work could take here (its flops at dgemm's rate, its exponentials
     at exp's), both measured in the same repetition.

Usage: goals.py --bench BENCH --bpcheck BPCHECK --case FILLED.json
                [--reps R] [--csv FILE]
Threads for goals 2-4: OPENBLAS_NUM_THREADS (as the rest of the bench).
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import torch_bench  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--bench", required=True)
p.add_argument("--bpcheck", required=True)
p.add_argument("--case", required=True)
p.add_argument("--reps", type=int, default=5)
p.add_argument("--csv")
args = p.parse_args()
R = max(args.reps, 1)
csv = open(args.csv, "a") if args.csv else None


def env_threads(n):
    e = dict(os.environ)
    e["OMP_NUM_THREADS"] = e["OPENBLAS_NUM_THREADS"] = str(n)
    return e


def show(goal, case, what, values, target=None, every=False):
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    text = ""
    if target is not None:
        ok = (lo if every else med) >= target
        text = "goal >= %g%s: %s" % (target, " in every repetition" if every
                                     else "", "met" if ok else "NOT met")
    print("  %-3s %-22s %-38s %9.3g  [%.3g, %.3g]  %s" %
          (goal, case, what, med, lo, hi, text))
    if csv:  # table 7 of the CSV (table,case,quantity,value): three rows
        q = what.replace(",", "")
        for tag, v in (("median", med), ("smallest", lo), ("largest", hi)):
            csv.write("7,%s,goal %s: %s (%s),%.6g\n" % (case, goal, q, tag, v))


print("\n7. goals: median of %d repetitions [smallest, largest]" % R)
# 1. the installed verify command against gradcheck, one and two threads
case1 = "128-128-10 B4"
for threads in (1, 2):
    torch.set_num_threads(threads)
    ratios, verify_s, gradcheck_s = [], [], []
    for r in range(R):
        out = subprocess.run(
            [args.bench, "--time-command", "20", args.bpcheck, "verify",
             "--mode", "full", args.case],
            env=env_threads(threads), check=True, capture_output=True,
            text=True).stdout
        v = float(out.strip())
        torch.manual_seed(r)
        g = torch_bench.gradcheck_seconds([128, 128, 10], 4)
        verify_s.append(v)
        gradcheck_s.append(g)
        ratios.append(g / v)
    show("1", case1, "verify seconds, %d thread%s" %
         (threads, "s" if threads > 1 else ""), verify_s)
    show("1", case1, "gradcheck seconds, %d thread%s" %
         (threads, "s" if threads > 1 else ""), gradcheck_s)
    show("1", case1, "gradcheck / verify, %d thread%s" %
         (threads, "s" if threads > 1 else ""), ratios, 100)

# 2-4: the bpcheck sides from bench --goals, one repetition at a time, each
# followed by torch's throughput: the two sides of a repetition of goal 3
# measured back to back, on the machine as it is then.
threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
torch.set_num_threads(threads)
step = torch_bench.throughput_step([1024, 1024, 1024, 1024], 256)
g2, g3, lim, torch_sps = [], [], [], []
for r in range(R):
    out = subprocess.run([args.bench, "--goals", "1"], check=True,
                         capture_output=True, text=True).stdout
    rows = [line.split(",") for line in out.split()]
    g2 += [list(map(float, x[2:])) for x in rows if x[0] == "goal2"]
    g3 += [float(x[2]) for x in rows if x[0] == "goal3"]
    lim += [list(map(float, x[2:])) for x in rows if x[0] == "limit"]
    torch_sps.append(256 / torch_bench.best_time(step, rounds=1))
show("2", case1, "naive 2P-pass / full check (nodes)",
     [n / x for n, f, x in g2], 20)
show("2", case1, "naive 2P-pass / fast check per entry",
     [n / f for n, f, x in g2])
show("3", "1024^4 B256", "backprop / torch samples/s, %d threads" % threads,
     [b / t for b, t in zip(g3, torch_sps)], 1.2, every=True)
show("4", case1, "full check / least time (flops, exps)",
     [x / least for x, least in lim])
