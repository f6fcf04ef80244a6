#!/usr/bin/python3
"""model_big.py -- a model of about 10^6 parameters behind the protocol of
`bpcheck model --exec` (doc/reference.md), for the traffic of the along
form: embedding.weight [ROWS, 1000] and head.bias [8], the loss
1/(2 N) sum (tanh(W X) + b - Y)^2 over a fixed batch X [1000, 8] (the
rows of W X summed in groups of ROWS / 8 onto 8 outputs), its gradient by
hand.  ROWS is BPCHECK_BIG_ROWS (default 1000: 1,000,008 parameters).
BPCHECK_EXAMPLE_BUG=one_entry puts embedding.weight[617,42]'s gradient off
by 0.01; BPCHECK_BIG_ALONG=0 leaves the along form out."""

import json
import os
import sys

import numpy as np

ROWS = int(os.environ.get("BPCHECK_BIG_ROWS", "1000"))
COLS, N, OUT = 1000, 8, 8
BUG = os.environ.get("BPCHECK_EXAMPLE_BUG", "")
ALONG = os.environ.get("BPCHECK_BIG_ALONG", "1") != "0"
rng = np.random.RandomState(1)
X = rng.uniform(-1, 1, (COLS, N)) / np.sqrt(COLS)
Y = rng.uniform(-1, 1, (OUT, N))
W0 = rng.uniform(-1, 1, (ROWS, COLS))
B0 = rng.uniform(-0.1, 0.1, OUT)
GROUP = np.arange(ROWS) * OUT // ROWS  # the output each row adds to


def loss_and_gradient(W, b, with_gradient):
    a = np.tanh(W @ X)                      # [ROWS, N]
    z = np.zeros((OUT, N))
    np.add.at(z, GROUP, a)
    r = z + b[:, None] - Y                  # [OUT, N]
    loss = 0.5 * np.sum(r * r) / N
    if not with_gradient:
        return loss, None
    dz = r / N
    dW = (dz[GROUP] * (1 - a * a)) @ X.T    # [ROWS, COLS]
    db = dz.sum(axis=1)
    if BUG == "one_entry":
        dW[617 % ROWS, 42] += 0.01
    return loss, [dW, db]


def main():
    base, direction = None, None
    for line in sys.stdin:
        req = json.loads(line)
        kind = req["request"]
        if kind == "parameters":
            answer = {"parameters": [
                {"name": "embedding.weight", "shape": [ROWS, COLS],
                 "values": W0.ravel().tolist()},
                {"name": "head.bias", "shape": [OUT], "values": B0.tolist()}]}
            if ALONG:
                answer["supports"] = ["along"]
        elif kind == "direction":
            direction = (req["id"], [np.asarray(v, dtype=float)
                                     for v in req["v"]])
            answer = {"direction": req["id"]}
        else:
            if "along" in req:
                if direction is None or direction[0] != req["along"]:
                    answer = {"error": "unknown direction"}
                    print(json.dumps(answer))
                    sys.stdout.flush()
                    continue
                flat = [b + req["t"] * v for b, v in zip(base, direction[1])]
            else:
                flat = [np.array(v, dtype=float) for v in req["theta"]]
            grad = kind == "gradient"
            if grad:
                base = flat
            loss, g = loss_and_gradient(flat[0].reshape(ROWS, COLS), flat[1],
                                        grad)
            answer = {"loss": float(loss)}
            if grad:
                answer["gradient"] = [x.ravel().tolist() for x in g]
        print(json.dumps(answer))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
