#!/usr/bin/python3
"""The PyTorch side of bpcheck's benchmark (scripts/bench runs it).

Same networks as bench/bench.c: sigmoid layers, float64, quadratic cost
C = 1/B sum_s 1/2 |a_s - y_s|^2.  Prints CSV rows table,case,quantity,value:
forward + backward samples per second, and torch.autograd.gradcheck's time
for the full entry-by-entry check of the cost's gradient.
"""
import os
import sys
import time

import torch

torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
torch.manual_seed(1)
quick = "--quick" in sys.argv


def best_time(fn, rounds=3, min_time=0.2):
    """Seconds per call: the best of rounds of at least min_time each."""
    best = float("inf")
    for _ in range(rounds):
        calls, t0 = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            t = time.perf_counter() - t0
            if t >= min_time:
                break
        best = min(best, t / calls)
        if t > 5 * min_time:
            break
    return best


def mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out).double(), torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


def cost(a, y):
    return 0.5 * ((a - y) ** 2).sum(dim=1).mean()


def name(sizes, batch):
    return "-".join(map(str, sizes)) + " B%d" % batch


def throughput_step(sizes, batch):
    """One forward + backward of the network on a batch: a function."""
    net = mlp(sizes)
    x = torch.rand(batch, sizes[0], dtype=torch.float64)
    y = torch.rand(batch, sizes[-1], dtype=torch.float64)

    def step():
        net.zero_grad()
        cost(net(x), y).backward()

    return step


def throughput(sizes, batch):
    t = best_time(throughput_step(sizes, batch))
    print("4,%s,torch samples/s,%.6g" % (name(sizes, batch), batch / t))


def gradcheck_seconds(sizes, batch):
    """One torch.autograd.gradcheck of the cost as a function of the flat
    parameter vector: seconds."""
    net = mlp(sizes)
    params = list(net.parameters())
    x = torch.rand(batch, sizes[0], dtype=torch.float64)
    y = torch.rand(batch, sizes[-1], dtype=torch.float64)
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    flat.requires_grad_(True)
    shapes = [p.shape for p in params]

    def c_of(theta):
        out, i = x, 0
        for m in range(0, len(shapes), 2):
            nw, nb = shapes[m].numel(), shapes[m + 1].numel()
            W = theta[i:i + nw].view(shapes[m])
            b = theta[i + nw:i + nw + nb]
            i += nw + nb
            out = torch.sigmoid(out @ W.T + b)
        return cost(out, y)

    t0 = time.perf_counter()
    torch.autograd.gradcheck(c_of, (flat,), eps=1e-6, atol=1e-5)
    return time.perf_counter() - t0


def gradcheck_time(sizes, batch, table="4"):
    t = gradcheck_seconds(sizes, batch)
    params = sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))
    print("%s,%s,torch gradcheck seconds,%.6g" % (table, name(sizes, batch), t))
    print("scaling,%d,torch gradcheck,%.6g" % (params, t))


if __name__ == "__main__":
    throughput([1024, 1024, 1024, 1024], 64 if quick else 256)
    for w in ([16, 32, 64] if quick else [16, 32, 64, 128]):
        gradcheck_time([w, w, 10], 4)
