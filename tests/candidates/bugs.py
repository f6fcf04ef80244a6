#!/usr/bin/python3
"""A NumPy candidate for tests/cli_run.sh, with exactly one bug or quirk,
chosen by its first argument:

  right        correct, float64
  float32      correct, but computed in float32
  lut          a sigmoid from a table of 1024 steps (errors ~1e-4)
  no_fprime    delta^L = dC/da^L, f_L'(z^L) missing
  one_in_ten   the batch summed where the mean is asked, but only at B = 10
  skip_unequal {"skip": ...} when the hidden layers have unequal widths
  skip_all     {"skip": ...} for every case
  column       biases printed as columns [[b], [b]]
  nan          NaN where a gradient would be
  pretty       the answer pretty-printed over several lines
  transpose    dC/dW^l transposed where it is square
  entry        dC/dW^1_0,0 off by 1/2 where W^1 has more than one entry
  bias_sign    every bias gradient with the wrong sign
  rounded      every number printed with 6 significant digits

Weight decay ("weight_decay": lambda in the case; right honours it):
  decay_missing  lambda ignored
  decay_biases   the biases decayed too
  decay_over_b   lambda W times r (1/B under mean): divided as the data term
  decay_twice    2 lambda W
  decay_last     the last layer not decayed (when there are two or more)
  decay_l1       lambda sign(W) for lambda W (an L1 decay)

Input gradients dC/da^0 ("inputs" in the answer, B rows of n_0):
  inputs         right, with dC/da^0
  inputs_entry   dC/da^0 of sample 0, input 0 off by 1/2
"""
import json
import sys

import numpy as np

MODE = sys.argv[1] if len(sys.argv) > 1 else "right"
DT = np.float32 if MODE == "float32" else np.float64
TABLE = np.linspace(-16.0, 16.0, 1025)
TABLE_S = 1.0 / (1.0 + np.exp(-TABLE))


def sigmoid(z):
    if MODE == "lut":
        return np.interp(z, TABLE, TABLE_S)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def act(f, z):
    if f == "sigmoid":
        return sigmoid(z)
    if f == "tanh":
        return np.tanh(z)
    if f == "relu":
        return np.maximum(z, 0)
    if f == "identity":
        return z
    if f == "softplus":
        return np.logaddexp(0, z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def dact(f, z):
    if f == "sigmoid":
        s = sigmoid(z)
        return s * (1 - s)
    if f == "tanh":
        return 1 - np.tanh(z) ** 2
    if f == "relu":
        return (z > 0).astype(z.dtype)
    if f == "identity":
        return np.ones_like(z)
    return sigmoid(z)  # softplus


def dcost(cost, a, y):
    if cost == "quadratic":
        return a - y
    if cost == "mse":
        return 2 * (a - y) / a.shape[1]
    if cost == "cross_entropy":
        return (a - y) / (a * (1 - a))
    return -y / a


def gradients(case):
    Ws = [np.array(W, dtype=DT) for W in case["weights"]]
    bs = [np.array(b, dtype=DT) for b in case["biases"]]
    x = np.array(case["inputs"], dtype=DT)
    y = np.array(case["targets"], dtype=DT)
    L = len(Ws)
    fs = case.get("activations", "sigmoid")
    fs = [fs] * L if isinstance(fs, str) else fs
    B = x.shape[0]
    r = 1.0 / B if case.get("reduction", "mean") == "mean" else 1.0
    if MODE == "one_in_ten" and B == 10:
        r = 1.0
    zs, As = [], [x]
    for W, b, f in zip(Ws, bs, fs):
        zs.append(As[-1] @ W.T + b)
        As.append(act(f, zs[-1]))
    g = DT(r) * dcost(case.get("cost", "quadratic"), As[-1], y)
    if MODE == "no_fprime":
        delta = g
    elif fs[-1] == "softmax":
        a = As[-1]
        delta = a * (g - (a * g).sum(axis=1, keepdims=True))
    else:
        delta = g * dact(fs[-1], zs[-1])
    gw, gb = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        gw[l] = delta.T @ As[l]
        gb[l] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ Ws[l]) * dact(fs[l - 1], zs[l - 1])
    dx = delta @ Ws[0]  # dC/da^0 = (W^1)^T delta^1, a row per sample
    lam = DT(case.get("weight_decay", 0.0))
    scale = {"decay_missing": 0.0, "decay_over_b": r, "decay_twice": 2.0}
    for l in range(L):
        if MODE == "decay_last" and L > 1 and l == L - 1:
            continue
        if MODE == "decay_l1":
            gw[l] = gw[l] + lam * np.sign(Ws[l])
            continue
        gw[l] = gw[l] + DT(scale.get(MODE, 1.0)) * lam * Ws[l]
        if MODE == "decay_biases":
            gb[l] = gb[l] + lam * bs[l]
    if MODE == "transpose":
        gw = [v.T if v.shape[0] == v.shape[1] else v for v in gw]
    if MODE == "entry" and gw[0].size > 1:
        gw[0][0, 0] += 0.5
    if MODE == "bias_sign":
        gb = [-v for v in gb]
    if MODE == "rounded":
        gw = [np.vectorize(lambda e: float("%.6g" % e))(v) for v in gw]
        gb = [np.vectorize(lambda e: float("%.6g" % e))(v) for v in gb]
    w = [v.astype(np.float64).tolist() for v in gw]
    b = [v.astype(np.float64).tolist() for v in gb]
    if MODE == "column":
        b = [[[e] for e in v] for v in b]
    answer = {"weights": w, "biases": b}
    if MODE.startswith("inputs"):
        if MODE == "inputs_entry":
            dx[0, 0] += 0.5
        answer["inputs"] = dx.astype(np.float64).tolist()
    return answer


def main():
    for line in sys.stdin:
        case = json.loads(line)
        hidden = case["layers"][1:-1]
        if MODE == "skip_all":
            answer = {"skip": "this candidate supports nothing"}
        elif MODE == "skip_unequal" and len(set(hidden)) > 1:
            answer = {"skip": "hidden layers of unequal widths"}
        else:
            answer = gradients(case)
        text = json.dumps(answer, indent=2 if MODE == "pretty" else None)
        if MODE == "nan":
            text = text.replace("[[[", "[[[NaN, ", 1)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
