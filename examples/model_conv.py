#!/usr/bin/python3
"""model_conv.py -- a small convolutional model behind the protocol of
`bpcheck model --exec` (doc/reference.md): a 1-d convolution (conv.weight
[3, 2, 3], conv.bias [3]), tanh, and a linear layer (fc.weight [2, 24],
fc.bias [2]) on a fixed batch of 4 inputs of 2 channels and length 10, with
the loss 1/2 mean over the batch of sum (out - target)^2, and its gradient
written by hand.

    bpcheck model --exec examples/model_conv.py

BPCHECK_EXAMPLE_BUG plants a bug in the hand-written backward pass:
kernel_flipped (the kernel's gradient correlates with the flipped input),
missing_term (tanh' left out of the convolution's delta), one_entry (one
entry of fc.weight's gradient off), or error (answers {"error": ...}).

It speaks the along form too (it says "supports": ["along"]): a direction
is sent once, {"request": "direction", "id": N, "v": [...]}, and loss
requests {"request": "loss", "along": N, "t": T} mean theta0 + T v, theta0
the theta of the last gradient request.  BPCHECK_EXAMPLE_BUG=along_ack
(a wrong answer to a direction), along_unknown (every direction forgotten)
and along_base (steps from its own parameters, not from theta0) plant bugs
in it."""

import json
import os
import sys

import numpy as np

BUG = os.environ.get("BPCHECK_EXAMPLE_BUG", "")
N, C_IN, LENGTH, C_OUT, K, OUT = 4, 2, 10, 3, 3, 2
P_LEN = LENGTH - K + 1  # the convolution's output length, "valid"

rng = np.random.RandomState(0)
X = rng.uniform(-1, 1, (N, C_IN, LENGTH))
T = rng.uniform(-1, 1, (N, OUT))
params = {
    "conv.weight": rng.normal(0, 0.5, (C_OUT, C_IN, K)),
    "conv.bias": rng.normal(0, 0.1, (C_OUT,)),
    "fc.weight": rng.normal(0, 0.3, (OUT, C_OUT * P_LEN)),
    "fc.bias": rng.normal(0, 0.1, (OUT,)),
}
NAMES = list(params)


def loss_and_gradient(p, with_gradient):
    W, b, V, vb = (p[n] for n in NAMES)
    # forward: h[n,o,t] = sum_c,k W[o,c,k] x[n,c,t+k] + b[o]
    windows = np.stack([X[:, :, k:k + P_LEN] for k in range(K)], axis=-1)
    h = np.einsum("ock,nctk->not", W, windows) + b[None, :, None]
    a = np.tanh(h)
    f = a.reshape(N, -1)
    out = f @ V.T + vb
    loss = 0.5 * np.sum((out - T) ** 2) / N
    if not with_gradient:
        return loss, None
    dout = (out - T) / N
    dV = dout.T @ f
    dvb = dout.sum(axis=0)
    da = (dout @ V).reshape(N, C_OUT, P_LEN)
    dh = da if BUG == "missing_term" else da * (1 - a ** 2)
    if BUG == "kernel_flipped":
        windows = windows[..., ::-1]
    dW = np.einsum("not,nctk->ock", dh, windows)
    db = dh.sum(axis=(0, 2))
    if BUG == "one_entry":
        dV[1, 5] += 0.01
    return loss, [dW, db, dV, dvb]


def main():
    base, direction = None, None  # the last gradient's theta, direction
    for line in sys.stdin:
        req = json.loads(line)
        kind = req["request"]
        if BUG == "error":
            print(json.dumps({"error": "planted: this model refuses"}))
        elif kind == "parameters":
            print(json.dumps({"supports": ["along"], "parameters": [
                {"name": n, "shape": list(params[n].shape),
                 "values": params[n].ravel().tolist()} for n in NAMES]}))
        elif kind == "direction":
            # one list per tensor, or 0 for a tensor outside the direction
            direction = (req["id"], [np.asarray(v, dtype=float)
                                     for v in req["v"]])
            print(json.dumps({"direction": 0 if BUG == "along_ack"
                              else req["id"]}))
        elif "along" in req and (BUG == "along_unknown" or direction is None
                                 or req["along"] != direction[0]):
            print(json.dumps({"error": f"unknown direction {req['along']}"}))
        else:
            if "along" in req:  # theta0 + t v, rounded once, as bpcheck does
                theta0 = ([params[n].ravel() for n in NAMES]
                          if BUG == "along_base" else base)
                flat = [b + req["t"] * v for b, v in zip(theta0, direction[1])]
            else:
                flat = [np.array(v, dtype=float) for v in req["theta"]]
            grad = kind == "gradient"
            if grad:
                base = flat
            theta = {n: v.reshape(params[n].shape)
                     for n, v in zip(NAMES, flat)}
            loss, g = loss_and_gradient(theta, grad)
            answer = {"loss": float(loss)}
            if grad:
                answer["gradient"] = [x.ravel().tolist() for x in g]
            print(json.dumps(answer))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
