#!/usr/bin/python3
"""A NumPy backprop for bpcheck (float64): an example of the protocol.

  bpcheck run --exec 'examples/numpy_backprop.py'
      reads one case per line on stdin, answers one line per case on stdout:
      {"weights": [...], "biases": [...]}, or {"error": "..."}.
  examples/numpy_backprop.py --fill < case.json > filled.json
      reads one case file and writes it back with its "gradients",
      for `bpcheck verify filled.json`.
  --inputs (or BPCHECK_EXAMPLE_INPUTS=1) adds the gradient with respect to
      the inputs, dC/da^0, as "inputs": B rows of n_0, which bpcheck checks.

L2 weight decay ("weight_decay": lambda in the case, 0 when absent) is
honoured: C = r sum_s C_s + lambda/2 sum_l ||W^l||^2, so lambda W^l is
added once to dC/dW^l and the biases are not decayed.

BPCHECK_EXAMPLE_BUG=NAME switches on one classic bug, to see bpcheck catch
and name it: sign, half (the 1/2 of the quadratic cost dropped), batch_sum
(sum where the mean is asked), bias_sum (bias gradient summed, not
averaged), no_output_derivative, transpose (dC/dW transposed),
decay_biases (the biases decayed too), decay_over_b (lambda divided by the
batch size, as the data term is).

Layout as in bpcheck: W^l has n_l rows of n_(l-1) numbers (receiving node
k, emitting node j); inputs and targets are rows, one per sample.
"""
import json
import os
import sys

import numpy as np

BUG = os.environ.get("BPCHECK_EXAMPLE_BUG", "")
INPUTS = "--inputs" in sys.argv[1:] or os.environ.get("BPCHECK_EXAMPLE_INPUTS",
                                                      "") not in ("", "0")


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def activate(name, z):
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "identity":
        return z
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError("unknown activation " + name)


def derivative(name, z):
    if name == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "identity":
        return np.ones_like(z)
    if name == "softplus":
        return sigmoid(z)
    raise ValueError("no element-wise derivative for " + name)


def cost_gradient(cost, a, y):
    """dC_s/da for each sample (rows)."""
    if cost == "quadratic":
        return (2.0 if BUG == "half" else 1.0) * (a - y)
    if cost == "mse":
        return 2.0 * (a - y) / a.shape[1]
    if cost == "cross_entropy":
        return (a - y) / (a * (1.0 - a))
    if cost == "categorical_cross_entropy":
        return -y / a
    raise ValueError("unknown cost " + cost)


def gradients(case):
    Ws = [np.array(W, dtype=float) for W in case["weights"]]
    bs = [np.array(b, dtype=float) for b in case["biases"]]
    x = np.array(case["inputs"], dtype=float)
    y = np.array(case["targets"], dtype=float)
    L = len(Ws)
    acts = case.get("activations", "sigmoid")
    acts = [acts] * L if isinstance(acts, str) else acts
    B = x.shape[0]
    r = 1.0 / B if case.get("reduction", "mean") == "mean" else 1.0
    if BUG == "batch_sum":
        r = 1.0

    zs, activations = [], [x]
    for W, b, f in zip(Ws, bs, acts):
        zs.append(activations[-1] @ W.T + b)  # z^l = W^l a^(l-1) + b^l
        activations.append(activate(f, zs[-1]))

    g = r * cost_gradient(case.get("cost", "quadratic"), activations[-1], y)
    if BUG == "no_output_derivative":
        delta = g
    elif acts[-1] == "softmax":
        a = activations[-1]
        delta = a * (g - (a * g).sum(axis=1, keepdims=True))
    else:
        delta = g * derivative(acts[-1], zs[-1])

    # The decay lambda/2 sum_l ||W^l||^2 is added once, after the reduction.
    lam = float(case.get("weight_decay", 0.0))
    lam_w = r * lam if BUG == "decay_over_b" else lam

    nabla_w, nabla_b = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        nabla_w[l] = delta.T @ activations[l] + lam_w * Ws[l]  # n_l x n_(l-1)
        if BUG == "transpose":
            nabla_w[l] = nabla_w[l].T
        nabla_b[l] = delta.sum(axis=0) * (B if BUG == "bias_sum" else 1)
        if BUG == "decay_biases":
            nabla_b[l] = nabla_b[l] + lam * bs[l]
        if l > 0:
            delta = (delta @ Ws[l]) * derivative(acts[l - 1], zs[l - 1])
    nabla_x = delta @ Ws[0]  # dC/da^0 = (W^1)^T delta^1: B x n_0
    if BUG == "sign":
        nabla_w = [-w for w in nabla_w]
        nabla_b = [-b for b in nabla_b]
        nabla_x = -nabla_x
    answer = {"weights": [w.tolist() for w in nabla_w],
              "biases": [b.tolist() for b in nabla_b]}
    if INPUTS:
        answer["inputs"] = nabla_x.tolist()
    return answer


def main():
    if "--fill" in sys.argv[1:]:
        case = json.load(sys.stdin)
        case["gradients"] = gradients(case)
        json.dump(case, sys.stdout)
        sys.stdout.write("\n")
        return
    for line in sys.stdin:
        try:
            answer = gradients(json.loads(line))
        except Exception as e:  # the protocol's way to say "I can't"
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
