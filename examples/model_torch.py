#!/usr/bin/python3
"""model_torch.py -- a PyTorch model behind the protocol of `bpcheck model
--exec` (doc/reference.md): a 2-d convolution (conv.weight [4, 1, 3, 3],
conv.bias [4]), a hand-written autograd.Function (a scaled softsign,
x / (1 + |x|), with its own backward), and a linear layer (fc.weight [3,
64], fc.bias [3]) on a fixed batch of 5 images of 6 x 6, with the cross
entropy of torch.nn.functional as the loss; float64 throughout.

    bpcheck model --exec examples/model_torch.py

BPCHECK_EXAMPLE_BUG=softsign plants a bug in the custom backward (the
derivative of x / (1 + |x|) taken as 1 / (1 + |x|), a missing term).
It speaks the along form (a direction sent once, then loss requests
{"request": "loss", "along": N, "t": T} at theta0 + T v, theta0 the theta
of the last gradient request)."""

import json
import os
import sys

import torch

BUG = os.environ.get("BPCHECK_EXAMPLE_BUG", "")
torch.manual_seed(0)


class Softsign(torch.autograd.Function):
    """x / (1 + |x|), with its derivative 1 / (1 + |x|)^2 written by hand."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + x.abs())

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if BUG == "softsign":
            return grad / (1 + x.abs())
        return grad / (1 + x.abs()) ** 2


conv = torch.nn.Conv2d(1, 4, 3).double()
fc = torch.nn.Linear(4 * 4 * 4, 3).double()
X = torch.randn(5, 1, 6, 6, dtype=torch.float64)
Y = torch.tensor([0, 2, 1, 1, 0])
NAMED = [("conv.weight", conv.weight), ("conv.bias", conv.bias),
         ("fc.weight", fc.weight), ("fc.bias", fc.bias)]


def loss():
    h = Softsign.apply(conv(X))
    return torch.nn.functional.cross_entropy(fc(h.flatten(1)), Y)


def main():
    base, direction = None, None  # the last gradient's theta, direction
    for line in sys.stdin:
        req = json.loads(line)
        kind = req["request"]
        if kind == "parameters":
            print(json.dumps({"supports": ["along"], "parameters": [
                {"name": n, "shape": list(p.shape),
                 "values": p.detach().flatten().tolist()} for n, p in NAMED]}))
            sys.stdout.flush()
            continue
        if kind == "direction":  # a list per tensor, or 0 outside it
            direction = (req["id"], [torch.tensor(v, dtype=torch.float64)
                                     for v in req["v"]])
            print(json.dumps({"direction": req["id"]}))
            sys.stdout.flush()
            continue
        if "along" in req:
            if direction is None or req["along"] != direction[0]:
                print(json.dumps({"error": "unknown direction"}))
                sys.stdout.flush()
                continue
            # theta0 + t v in float64, rounded once, as bpcheck does
            flat = [b + req["t"] * v for b, v in zip(base, direction[1])]
        else:
            flat = [torch.tensor(v, dtype=torch.float64)
                    for v in req["theta"]]
        if kind == "gradient":
            base = flat
        with torch.no_grad():
            for (_, p), v in zip(NAMED, flat):
                p.copy_(v.reshape(p.shape) if v.dim() else v)
        for _, p in NAMED:
            p.grad = None
        c = loss()
        answer = {"loss": c.item()}
        if kind == "gradient":
            c.backward()
            answer["gradient"] = [p.grad.flatten().tolist()
                                  for _, p in NAMED]
        print(json.dumps(answer))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
