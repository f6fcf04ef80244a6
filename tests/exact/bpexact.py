#!/usr/bin/python3
"""bpexact.py -- the exact cost and gradient of a bpcheck case file.

An oracle independent of the C library: it computes the cost and the
gradient of a case (README.md, "The case file"; lib/case.c) straight from
the definitions, in mpmath at 60 significant digits, and checks the result
at a second, higher precision (90 digits, raised further until the two
agree once rounded to double and no value is within their reach of a
midpoint between two doubles).  Every number of a case file is a double,
which mpmath holds exactly, so the only rounding is mpmath's, far below the
last bit of a double.

The definitions (proofs/):
  activations (01-activations.md): sigmoid, tanh, relu (relu'(0) = 0, or 1
    with --relu-prime-at-zero 1: (ACT.3) allows either one-sided slope),
    identity, softplus, softmax (output layer only, (ACT.6)-(ACT.8));
  costs (02-costs.md): quadratic 1/2 sum (a-y)^2 (COST.1), mse
    1/n_L sum (a-y)^2 (COST.2), cross_entropy -sum[y ln a + (1-y) ln(1-a)]
    (COST.3), categorical_cross_entropy -sum y ln a (COST.4), reduced over
    the batch by mean or sum (COST.5);
  backprop (04-fully-connected.md): (FC.1)-(FC.7);
  weight decay (10-weight-decay.md): C + lambda/2 sum_l ||W^l||^2 once
    after the reduction, lambda W added to dC/dW (WD.1), (WD.3), when the
    case has "weight_decay";
  the input gradient dC/da^0 = (W^1)^T delta^1 per sample (IN.1).

Numerically careful forms, so that saturated cases are exact without
thousands of digits: 1 - sigmoid(z) is sigmoid(-z); 1 - softmax_k is the
sum of the other exponentials over the total; ln sigmoid(z) is
-log1p(exp(-z)); a - y near a = 1 is (1 - y) - (1 - a); the output delta of
sigmoid + cross_entropy is a - y (COST.7); the softmax delta (ACT.8) is
rearranged as delta_k = a_k ((1-a_k) g_k - sum_{i!=k} a_i g_i) so that no
two large terms cancel.  mpmath's exponent range is unbounded: exp(-700)
and exp(1e8) are ordinary numbers.

Modes (write to standard output; CASE may be - for standard input):
  bpexact.py --answer CASE      the case with "gradients" = the exact
                                gradient rounded to double (%.17g)
  bpexact.py --cost CASE        the exact cost (40 digits), then "double: X"
  variants (wrong or differently right answers), with --answer implied:
    --zeros          every entry 0
    --negate         the exact gradient negated
    --scale F        the exact gradient times F, then rounded
    --only-layers L  apply --zeros/--negate/--scale to these layers only
                     (1-based, comma separated); the others stay exact
    --float32        a correct float32 implementation (NumPy float32,
                     stable forms), written as doubles
    --float64        the same in float64: a correct double implementation
                     that sums in another order than bpcheck
    --relu-prime-at-zero 1   the exact gradient with relu'(0) = 1
  bpexact.py --answer --inputs CASE   also "inputs" in "gradients": the
                                exact dC/da^0 (B rows of n_0), confirmed
                                at two precisions
  bpexact.py --selftest         checks against central differences in mpmath

Exit codes: 0 done; 2 bad usage or case; 4 the exact gradient (or the
float32/float64 one) is not a finite double: nothing is written, stderr says which
entry; 5 the two precisions never agreed (should not happen).
"""

import argparse
import json
import math
import random
import sys

from mpmath import mp, mpf
import mpmath

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "softplus", "softmax")
COSTS = ("quadratic", "mse", "cross_entropy", "categorical_cross_entropy")
REDUCTIONS = ("mean", "sum")

DPS = 60          # the working precision (digits)
DPS_CHECK = 90    # the second precision the result must agree with
DPS_MAX = 1500    # give up beyond this (an exact tie is accepted there)


class CaseError(Exception):
    """A case file this oracle cannot read (exit 2)."""


# Reading a case -----------------------------------------------------------

def load_case(path):
    """The case file at path ("-": standard input) as a dict."""
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise CaseError("%s: %s" % (path, e))


def architecture(case):
    """(layers, activations per layer, cost, reduction), checked as
    lib/case.c and bpcheck_arch_validate check them."""
    if case.get("bpcheck") != 1:
        raise CaseError("not a bpcheck version 1 case")
    n = case["layers"]
    L = len(n) - 1
    if L < 1:
        raise CaseError("need at least two layer sizes")
    acts = case.get("activations", "sigmoid")
    acts = [acts] * L if isinstance(acts, str) else list(acts)
    if len(acts) != L or any(a not in ACTIVATIONS for a in acts):
        raise CaseError("activations: expected one name or %d names" % L)
    if "softmax" in acts[:-1]:
        raise CaseError("softmax is only allowed on the output layer")
    cost = case.get("cost", "quadratic")
    red = case.get("reduction", "mean")
    if cost not in COSTS or red not in REDUCTIONS:
        raise CaseError("unknown cost or reduction")
    if cost == "categorical_cross_entropy" and acts[-1] != "softmax":
        raise CaseError("categorical_cross_entropy needs a softmax output")
    if cost == "cross_entropy" and acts[-1] not in ("sigmoid", "softmax"):
        raise CaseError("cross_entropy needs a sigmoid or softmax output")
    return n, acts, cost, red


def params_of(case):
    """The weights and biases as nested lists of mpf (exact: a double is an
    mpf of 53 bits)."""
    W = [[[mpf(v) for v in row] for row in Wl] for Wl in case["weights"]]
    b = [[mpf(v) for v in bl] for bl in case["biases"]]
    return W, b


# The activations, with the complement 1 - a where it matters ------------

def sigmoid_pair(z):
    """(sigmoid(z), 1 - sigmoid(z)), each to full relative precision."""
    return 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))


def forward_layer(f, z):
    """a = f(z) for a layer's input sums z, and the complements 1 - a (None
    where the activation has no use for them)."""
    if f == "sigmoid":
        pairs = [sigmoid_pair(v) for v in z]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if f == "softmax":                      # (ACT.6), the maximum subtracted
        m = max(z)
        e = [mpmath.exp(v - m) for v in z]
        S = mpmath.fsum(e)
        a = [v / S for v in e]
        ca = [mpmath.fsum(e[:k] + e[k + 1:]) / S for k in range(len(e))]
        return a, ca
    if f == "tanh":
        return [mpmath.tanh(v) for v in z], None
    if f == "relu":
        return [v if v > 0 else mpf(0) for v in z], None
    if f == "softplus":                     # (ACT.5)
        return [mpmath.log1p(mpmath.exp(v)) for v in z], None
    return list(z), None                    # identity


def dactivation(f, z, a, ca, relu0):
    """f'(z) for an element-wise activation (ACT.1)-(ACT.5)."""
    if f == "sigmoid":
        return a * ca                       # (ACT.1), both factors exact
    if f == "tanh":
        return mpmath.sech(z) ** 2          # (ACT.2)
    if f == "relu":                         # (ACT.3), relu'(0) chosen
        return mpf(1) if z > 0 else (mpf(0) if z < 0 else mpf(relu0))
    if f == "softplus":
        return sigmoid_pair(z)[0]           # (ACT.5)
    return mpf(1)                           # identity (ACT.4)


def a_minus_y(a, ca, y):
    """a - y, through the complement when a is near 1."""
    if ca is not None and a > 0.5:
        return (1 - y) - ca
    return a - y


def log_a_pair(f, z, k, a, ca):
    """(ln a_k, ln(1 - a_k)) for a sigmoid or softmax output, without
    forming 1 - a."""
    if f == "sigmoid":
        return -mpmath.log1p(mpmath.exp(-z[k])), -mpmath.log1p(mpmath.exp(z[k]))
    m = max(z)
    e = [mpmath.exp(v - m) for v in z]
    lnS = mpmath.log(mpmath.fsum(e))
    others = mpmath.fsum(e[:k] + e[k + 1:])
    ln_ca = mpmath.log(others) - lnS if others > 0 else mpf("-inf")
    return (z[k] - m) - lnS, ln_ca


# One sample: cost and output delta --------------------------------------

def sample_cost(f, cost, z, a, ca, y):
    """C_s of one sample, (COST.1)-(COST.4); 0 ln 0 taken as 0."""
    n = len(a)
    cak = ca if ca is not None else [None] * n
    if cost in ("quadratic", "mse"):
        s = mpmath.fsum(a_minus_y(a[k], cak[k], y[k]) ** 2 for k in range(n))
        return s / 2 if cost == "quadratic" else s / n
    terms = []
    for k in range(n):
        la, lca = log_a_pair(f, z, k, a, ca)
        if y[k] != 0:
            terms.append(y[k] * la)
        if cost == "cross_entropy" and y[k] != 1:
            terms.append((1 - y[k]) * lca)
    return -mpmath.fsum(terms)


def output_delta(f, cost, z, a, ca, y, relu0):
    """delta^L = dC_s/dz^L of one sample, (FC.4) and (ACT.8)."""
    n = len(a)
    cak = ca if ca is not None else [None] * n
    d = [a_minus_y(a[k], cak[k], y[k]) for k in range(n)]   # a - y
    if f == "softmax":
        # (ACT.8) as delta_k = q_k - a_k sum_{i != k} p_i with p_i = a_i g_i
        # and q_k = a_k (1 - a_k) g_k, g = dC/da, written per cost so that
        # no division by a small a or 1 - a is left.
        if cost == "categorical_cross_entropy":           # g = -y/a
            p = [-y[i] for i in range(n)]
            q = [-y[k] * ca[k] for k in range(n)]
        elif cost == "cross_entropy":                     # g = (a-y)/(a(1-a))
            p = [d[i] / ca[i] for i in range(n)]
            q = d
        else:
            g = d if cost == "quadratic" else [2 * v / n for v in d]
            p = [a[i] * g[i] for i in range(n)]
            q = [a[k] * ca[k] * g[k] for k in range(n)]
        return [q[k] - a[k] * mpmath.fsum(p[:k] + p[k + 1:])
                for k in range(n)]
    if f == "sigmoid" and cost == "cross_entropy":
        return d                                          # (COST.7)
    # (FC.4): dC/da f'(z); cross_entropy is sigmoid or softmax only
    g = d if cost == "quadratic" else [2 * v / n for v in d]
    return [g[k] * dactivation(f, z[k], a[k], cak[k], relu0)
            for k in range(n)]


# The whole batch ---------------------------------------------------------

def exact(case, dps=DPS, relu0=0, W=None, b=None, want_grad=True,
          dx_out=None):
    """(cost, gW, gb) as mpf at dps digits: gW[l][k][j] = dC/dW^(l+1)_kj,
    gb[l][k] = dC/db^(l+1)_k.  W and b default to the case's (the
    self-test passes perturbed ones).  With dx_out a list, the rows of
    dC/da^0 (one per sample) are appended to it (IN.1)."""
    n, acts, cost, red = architecture(case)
    L = len(n) - 1
    with mp.workdps(dps):
        if W is None:
            W, b = params_of(case)
        X = case["inputs"]
        Y = case["targets"]
        B = len(X)
        r = mpf(1) / B if red == "mean" else mpf(1)
        gW = [[[mpf(0)] * n[l] for _ in range(n[l + 1])] for l in range(L)]
        gb = [[mpf(0)] * n[l + 1] for l in range(L)]
        costs = []
        for s in range(B):
            x = [mpf(v) for v in X[s]]
            y = [mpf(v) for v in Y[s]]
            As, Zs, CAs = [x], [None], [None]
            for l in range(L):                            # (FC.1), (FC.2)
                z = [mpmath.fsum([W[l][k][j] * As[-1][j]
                                  for j in range(n[l])] + [b[l][k]])
                     for k in range(n[l + 1])]
                a, ca = forward_layer(acts[l], z)
                Zs.append(z)
                As.append(a)
                CAs.append(ca)
            costs.append(sample_cost(acts[-1], cost, Zs[L], As[L], CAs[L], y))
            if not want_grad:
                continue
            delta = output_delta(acts[-1], cost, Zs[L], As[L], CAs[L], y,
                                 relu0)
            for l in range(L, 0, -1):
                if l == 1 and dx_out is not None:          # (IN.1)
                    dx_out.append([r * mpmath.fsum(W[0][k][j] * delta[k]
                                                   for k in range(n[1]))
                                   for j in range(n[0])])
                for k in range(n[l]):                     # (FC.6), (FC.7)
                    gb[l - 1][k] += delta[k]
                    row = gW[l - 1][k]
                    for j in range(n[l - 1]):
                        row[j] += delta[k] * As[l - 1][j]
                if l > 1:                                 # (FC.5)
                    f = acts[l - 2]
                    ca = CAs[l - 1]
                    delta = [mpmath.fsum(W[l - 1][k][j] * delta[k]
                                         for k in range(n[l])) *
                             dactivation(f, Zs[l - 1][j], As[l - 1][j],
                                         ca[j] if ca else None, relu0)
                             for j in range(n[l - 1])]
        C = r * mpmath.fsum(costs)
        gW = [[[r * v for v in row] for row in Wl] for Wl in gW]
        gb = [[r * v for v in bl] for bl in gb]
        lam = mpf(case.get("weight_decay", 0))
        if lam:                                           # (WD.1), (WD.3)
            C += lam / 2 * mpmath.fsum(w * w for Wl in W for row in Wl
                                       for w in row)
            gW = [[[g + lam * w for g, w in zip(grow, wrow)]
                   for grow, wrow in zip(gWl, Wl)] for gWl, Wl in zip(gW, W)]
        return C, gW, gb


# Rounding to double ------------------------------------------------------

def to_double(x):
    """x rounded to the nearest double (ties to even, subnormals
    included); None where that is +-inf (|x| >= 2^1024 (1 - 2^-54)) or x is
    not a number."""
    if mpmath.isnan(x):
        return None
    if mpmath.isinf(x):
        return None
    if x == 0:
        return 0.0
    with mp.workprec(max(mp.prec, 64) + 64):
        m, e = mpmath.frexp(x)               # x = m 2^e, 1/2 <= |m| < 1
        bits = 53 if e >= -1021 else 53 - (-1021 - e)   # subnormals
        if bits < 0:
            return math.copysign(0.0, x)
        q = mpmath.nint(mpmath.ldexp(m, bits))          # half to even
        v = mpmath.ldexp(q, e - bits)
        if abs(v) >= mpmath.ldexp(1, 1024):
            return None
        return math.ldexp(int(q), int(e - bits))


def tie_distance(x):
    """How far x is from the nearest midpoint between two doubles, in
    units of the last place (0: a tie; 1/2: a double); 1 where rounding is
    not in question (0, not finite, overflow)."""
    if x == 0 or not mpmath.isfinite(x):
        return mpf(1)
    with mp.workprec(max(mp.prec, 64) + 64):
        m, e = mpmath.frexp(x)
        bits = 53 if e >= -1021 else 53 - (-1021 - e)
        if e > 1024:
            return mpf(1)
        t = abs(mpmath.ldexp(m, bits))
        return abs(t - mpmath.floor(t) - mpf(1) / 2)


def flatten(gW, gb):
    """The entries in parameter order (W^1, b^1, W^2, ...) with names."""
    out = []
    for l, (Wl, bl) in enumerate(zip(gW, gb), 1):
        for k, row in enumerate(Wl):
            for j, v in enumerate(row):
                out.append(("W^%d_%d,%d" % (l, k, j), v))
        for k, v in enumerate(bl):
            out.append(("b^%d_%d" % (l, k), v))
    return out


class Exact:
    """The exact cost and gradient of a case, confirmed at two precisions:
    .cost, .gW, .gb (mpf at the precision that was confirmed), .cost_d and
    .gW_d, .gb_d (doubles, None where not finite), .dps."""

    def __init__(self, case, relu0=0):
        dps, check = DPS, DPS_CHECK
        while True:
            one = exact(case, dps, relu0)
            two = exact(case, check, relu0)
            d1, d2 = self._doubles(one), self._doubles(two)
            # Settled when both precisions round to the same doubles and no
            # value is within dps's reach of a midpoint between two doubles
            # (where a term like e^-662 decides the rounding, e.g. 1.5 + 0.3
            # - 0.2 - e^-662: the self-test's softmax case).  An exact tie
            # stays one at every precision: accepted at DPS_MAX.
            if d1 == d2 and (check >= DPS_MAX or
                             not self._near_tie(two, dps)):
                break
            if check >= DPS_MAX:
                raise ArithmeticError("the exact gradient did not settle "
                                      "by %d digits" % DPS_MAX)
            dps, check = check, min(2 * check, DPS_MAX)
        self.dps = check
        self.cost, self.gW, self.gb = two
        self.cost_d = to_double(self.cost)
        self.gW_d = [[[to_double(v) for v in row] for row in Wl]
                     for Wl in self.gW]
        self.gb_d = [[to_double(v) for v in bl] for bl in self.gb]

    @staticmethod
    def _near_tie(result, dps):
        """Whether a value of result (computed to about dps digits, less
        what cancellation costs: 15 digits of margin) could lie on either
        side of a midpoint between two doubles."""
        C, gW, gb = result
        limit = mpf(2) ** 53 * mpf(10) ** (15 - dps)
        return any(tie_distance(v) < limit
                   for v in [C] + [v for _, v in flatten(gW, gb)])

    @staticmethod
    def _doubles(result):
        C, gW, gb = result
        return [repr(to_double(C))] + [repr(to_double(v))
                                       for _, v in flatten(gW, gb)]

    def nonfinite(self):
        """Names of the quantities that are not finite doubles: 'cost',
        entry names."""
        bad = [] if self.cost_d is not None else ["cost"]
        return bad + [name for name, v in flatten(self.gW, self.gb)
                      if to_double(v) is None]

    def gradient_finite(self):
        return all(to_double(v) is not None
                   for _, v in flatten(self.gW, self.gb))


# Answers -----------------------------------------------------------------

def variant(ex, mode="exact", factor=None, layers=None):
    """The gradient (doubles) of a variant of the exact one: exact, zeros,
    negate or scale (times factor, exactly, then rounded), applied to the
    layers listed (1-based; all when None).  Non-finite entries are None."""
    def one(l, v):
        if layers is not None and l not in layers:
            return to_double(v)
        if mode == "zeros":
            return 0.0
        if mode == "negate":
            return to_double(-v)
        if mode == "scale":
            with mp.workdps(ex.dps):
                return to_double(v * mpf(factor))
        return to_double(v)
    gW = [[[one(l, v) for v in row] for row in Wl]
          for l, Wl in enumerate(ex.gW, 1)]
    gb = [[one(l, v) for v in bl] for l, bl in enumerate(ex.gb, 1)]
    return gW, gb


def fmt(v):
    return "%.17g" % v


def dumps_case(case, gW=None, gb=None, dx=None):
    """The case as one line of JSON, with "gradients" when given.  Every
    number keeps its exact double (Python's repr round-trips; the gradient
    is written with 17 significant digits)."""
    out = {k: v for k, v in case.items() if k != "gradients"}
    text = json.dumps(out, separators=(",", ":"), allow_nan=False)
    if gW is None:
        return text
    def nest(x):
        if isinstance(x, list):
            return "[" + ",".join(nest(v) for v in x) + "]"
        return fmt(x)
    return (text[:-1] + ',"gradients":{"weights":' + nest(gW) +
            ',"biases":' + nest(gb) +
            (',"inputs":' + nest(dx) if dx is not None else "") + "}}")


def exact_inputs(case, relu0=0):
    """The exact dC/da^0 as doubles, B rows of n_0: the same at DPS and at
    DPS_CHECK digits, or ArithmeticError."""
    rows = []
    for dps in (DPS, DPS_CHECK):
        dx = []
        exact(case, dps, relu0, dx_out=dx)
        with mp.workdps(dps):
            rows.append([[to_double(v) for v in row] for row in dx])
    if rows[0] != rows[1]:
        raise ArithmeticError("dC/da^0 differs at %d and %d digits"
                              % (DPS, DPS_CHECK))
    return rows[1]


def first_none(gW, gb):
    """The name of the first non-finite entry, or None."""
    for l, (Wl, bl) in enumerate(zip(gW, gb), 1):
        for k, row in enumerate(Wl):
            for j, v in enumerate(row):
                if v is None or not math.isfinite(v):
                    return "W^%d_%d,%d" % (l, k, j)
        for k, v in enumerate(bl):
            if v is None or not math.isfinite(v):
                return "b^%d_%d" % (l, k)
    return None


# A correct float32 (or float64) implementation ----------------------------

def float_gradient(case, relu0=0, dtype="float32"):
    """dC/dW, dC/db as a careful implementation in dtype (float32 or
    float64) computes them: parameters and data cast to dtype, every
    operation in dtype (NumPy, samples as columns, its BLAS's summation
    order), the stable forms of proofs/01 and 02: sigmoid and 1 - sigmoid
    from exp(-|z|), tanh' = 1/cosh^2, softmax with its maximum subtracted
    and 1 - a_k as the sum of the other exponentials over the total, the
    fused deltas a - y of sigmoid + cross_entropy and a sum(y) - y of
    softmax + categorical_cross_entropy, (ACT.8) with sums over i != k.
    Returned as lists of Python floats (the dtype values, exactly); an
    entry may be inf or nan where the dtype overflows."""
    import numpy as np
    ft = np.dtype(dtype).type
    n, acts, cost, red = architecture(case)
    L = len(n) - 1
    cast = lambda v: np.array(v, dtype=np.float64).astype(ft)  # noqa: E731
    W = [cast(w) for w in case["weights"]]
    b = [cast(v).reshape(-1, 1) for v in case["biases"]]
    X = cast(case["inputs"]).T
    Y = cast(case["targets"]).T
    B = X.shape[1]
    r = ft(1.0) / ft(B) if red == "mean" else ft(1.0)
    one = ft(1)
    with np.errstate(over="ignore", under="ignore", divide="ignore",
                     invalid="ignore"):
        def sig(z):
            e = np.exp(-np.abs(z))
            big = one / (one + e)
            small = e / (one + e)
            return np.where(z >= 0, big, small), np.where(z >= 0, small, big)
        A, Z, CA = [X], [None], [None]
        for l in range(L):
            z = (W[l] @ A[-1] + b[l]).astype(ft)
            f = acts[l]
            ca = None
            if f == "sigmoid":
                a, ca = sig(z)
            elif f == "softmax":
                e = np.exp(z - z.max(axis=0, keepdims=True))
                others = (np.ones((n[l + 1], n[l + 1]), ft) -
                          np.eye(n[l + 1], dtype=ft)) @ e
                S = e.sum(axis=0, keepdims=True)
                a = e / S
                ca = others / S
            elif f == "tanh":
                a = np.tanh(z)
            elif f == "relu":
                a = np.maximum(z, ft(0))
            elif f == "softplus":
                a = np.maximum(z, ft(0)) + np.log1p(np.exp(-np.abs(z)))
            else:
                a = z
            Z.append(z)
            A.append(a.astype(ft))
            CA.append(None if ca is None else ca.astype(ft))

        def df(f, z, a, ca):
            if f == "sigmoid":
                return a * ca
            if f == "tanh":
                return one / np.cosh(z) ** 2
            if f == "relu":
                return np.where(z > 0, one, np.where(z < 0, ft(0), ft(relu0)))
            if f == "softplus":
                return sig(z)[0]
            return np.ones_like(z)

        a, z, ca = A[L], Z[L], CA[L]
        nL = ft(n[L])
        d = a - Y
        f = acts[-1]
        if f == "softmax":
            if cost == "categorical_cross_entropy":
                delta = a * Y.sum(axis=0, keepdims=True) - Y
            else:
                if cost == "cross_entropy":
                    p = d / ca
                    q = d
                else:
                    g = d if cost == "quadratic" else ft(2) * d / nL
                    p = a * g
                    q = a * ca * g
                M = np.ones((n[L], n[L]), ft) - np.eye(n[L], dtype=ft)
                delta = q - a * (M @ p)          # sum over i != k
        elif cost == "cross_entropy":
            delta = d
        else:
            g = d if cost == "quadratic" else ft(2) * d / nL
            delta = g * df(f, z, a, ca)
        gW, gb = [None] * L, [None] * L
        for l in range(L, 0, -1):
            delta = delta.astype(ft)
            gW[l - 1] = (r * (delta @ A[l - 1].T)).astype(ft)
            lam = ft(case.get("weight_decay", 0.0))
            if lam:                                       # (WD.3)
                gW[l - 1] = (gW[l - 1] + lam * W[l - 1]).astype(ft)
            gb[l - 1] = (r * delta.sum(axis=1)).astype(ft)
            if l > 1:
                delta = (W[l - 1].T @ delta) * df(acts[l - 2], Z[l - 1],
                                                  A[l - 1], CA[l - 1])
    tolist = lambda m: [[float(v) for v in row] for row in m]  # noqa: E731
    return [tolist(m) for m in gW], [[float(v) for v in v_] for v_ in gb]


def float32_gradient(case, relu0=0):
    """A correct float32 implementation's answer (float_gradient)."""
    return float_gradient(case, relu0, "float32")


# The self-test -----------------------------------------------------------

def naive(case, dps=800):
    """(cost, gW, gb) by the textbook formulas, no careful form at all:
    sigmoid' = a (1 - a), tanh' = 1 - a^2, softmax e^z / sum e^z, dC/da of
    (COST.1)-(COST.4) and the full Jacobian (ACT.7); ln a, ln(1 - a) as
    written.  Right only because dps is huge (800 digits carry 1 - a at
    z = 700): the self-test's independent check of the careful forms."""
    n, acts, cost, red = architecture(case)
    L = len(n) - 1
    with mp.workdps(dps):
        W, b = params_of(case)
        B = len(case["inputs"])
        r = mpf(1) / B if red == "mean" else mpf(1)
        gW = [[[mpf(0)] * n[l] for _ in range(n[l + 1])] for l in range(L)]
        gb = [[mpf(0)] * n[l + 1] for l in range(L)]
        C = mpf(0)
        for x, y in zip(case["inputs"], case["targets"]):
            A, Z = [[mpf(v) for v in x]], [None]
            y = [mpf(v) for v in y]
            for l in range(L):
                z = [sum(W[l][k][j] * A[-1][j] for j in range(n[l])) +
                     b[l][k] for k in range(n[l + 1])]
                f = acts[l]
                if f == "softmax":
                    S = sum(mpmath.exp(v) for v in z)
                    a = [mpmath.exp(v) / S for v in z]
                else:
                    a = [{"sigmoid": lambda v: 1 / (1 + mpmath.exp(-v)),
                          "tanh": mpmath.tanh,
                          "relu": lambda v: max(v, mpf(0)),
                          "softplus": lambda v: mpmath.log(1 + mpmath.exp(v)),
                          "identity": lambda v: v}[f](v) for v in z]
                Z.append(z)
                A.append(a)
            a, m = A[L], n[L]
            if cost == "quadratic":
                C += sum((a[k] - y[k]) ** 2 for k in range(m)) / 2
                g = [a[k] - y[k] for k in range(m)]
            elif cost == "mse":
                C += sum((a[k] - y[k]) ** 2 for k in range(m)) / m
                g = [2 * (a[k] - y[k]) / m for k in range(m)]
            elif cost == "cross_entropy":
                C -= sum((y[k] * mpmath.log(a[k]) if y[k] else 0) +
                         ((1 - y[k]) * mpmath.log(1 - a[k]) if y[k] != 1
                          else 0) for k in range(m))
                g = [(a[k] - y[k]) / (a[k] * (1 - a[k])) for k in range(m)]
            else:
                C -= sum(y[k] * mpmath.log(a[k]) for k in range(m) if y[k])
                g = [-y[k] / a[k] for k in range(m)]

            def dfz(f, z, a):
                return {"sigmoid": a * (1 - a), "tanh": 1 - a * a,
                        "relu": mpf(1) if z > 0 else mpf(0),
                        "softplus": 1 / (1 + mpmath.exp(-z)),
                        "identity": mpf(1)}[f]
            if acts[-1] == "softmax":   # (ACT.7): the whole Jacobian
                delta = [sum(a[i] * ((i == k) - a[k]) * g[i] for i in range(m))
                         for k in range(m)]
            else:
                delta = [g[k] * dfz(acts[-1], Z[L][k], a[k]) for k in range(m)]
            for l in range(L, 0, -1):
                for k in range(n[l]):
                    gb[l - 1][k] += r * delta[k]
                    for j in range(n[l - 1]):
                        gW[l - 1][k][j] += r * delta[k] * A[l - 1][j]
                if l > 1:
                    delta = [sum(W[l - 1][k][j] * delta[k]
                                 for k in range(n[l])) *
                             dfz(acts[l - 2], Z[l - 1][j], A[l - 1][j])
                             for j in range(n[l - 1])]
        return r * C, gW, gb


def random_case(rng, L, width, acts, cost, red, B, scale=1.0):
    """A random case with every number a double (as bpcheck gen makes)."""
    n = [rng.randint(1, width) for _ in range(L + 1)]
    if acts[-1] == "softmax":
        n[-1] = max(n[-1], 2)
    case = {"bpcheck": 1, "layers": n, "activations": acts, "cost": cost,
            "reduction": red,
            "weights": [[[scale * rng.uniform(-1.5, 1.5)
                          for _ in range(n[l])] for _ in range(n[l + 1])]
                        for l in range(L)],
            "biases": [[scale * rng.uniform(-1, 1) for _ in range(n[l + 1])]
                       for l in range(L)],
            "inputs": [[rng.uniform(-1, 1) for _ in range(n[0])]
                       for _ in range(B)]}
    Y = []
    for _ in range(B):
        if cost in ("quadratic", "mse"):
            row = [rng.gauss(0, 1) for _ in range(n[-1])]
        else:
            row = [rng.random() for _ in range(n[-1])]
            if cost == "categorical_cross_entropy":
                s = sum(row)
                row = [v / s for v in row]
        Y.append(row)
    case["targets"] = Y
    return case


def selftest(trials=30, seed=1):
    """The exact gradient against central differences of the exact cost in
    mpmath (h = 1e-20 at 60 digits: truncation ~h^2, rounding ~1e-40), on
    random networks over every activation and cost; to_double on known
    values; a saturated case at 60 and 300 digits; the float32 answer near
    the exact one.  Returns the number of failures."""
    rng = random.Random(seed)
    fails = 0

    def bad(msg):
        nonlocal fails
        fails += 1
        print("FAIL: " + msg)

    # to_double: ties to even, subnormals, overflow
    checks = [(mpf(1) + mpf(2) ** -53, 1.0), (mpf(1) + mpf(3) * mpf(2) ** -53,
                                              1.0 + 2 ** -51),
              (mpf(2) ** -1074 * mpf("0.5"), 0.0),
              (mpf(2) ** -1074 * mpf("0.51"), 5e-324),
              (mpf(2) ** -1073 * mpf("1.25"), 2 * 5e-324),
              (mpf(2) ** 1024, None),
              (mpf(2) ** 1024 * (1 - mpf(2) ** -54), None),
              (mpf(2) ** 1024 * (1 - mpf(2) ** -53), 1.7976931348623157e308),
              (mpf(1) / 3, 1.0 / 3), (-mpf(1) / 10, -0.1)]
    with mp.workdps(100):
        for x, want in checks:
            if to_double(x) != want:
                bad("to_double(%s) = %r, not %r" % (x, to_double(x), want))

    hidden = ["sigmoid", "tanh", "relu", "identity", "softplus"]
    pairs = [("sigmoid", c) for c in ("quadratic", "mse", "cross_entropy")] + \
            [("softmax", c) for c in COSTS] + \
            [(f, c) for f in ("tanh", "relu", "identity", "softplus")
             for c in ("quadratic", "mse")]
    h = mpf("1e-20")
    for t in range(trials):
        out, cost = pairs[t % len(pairs)]
        L = rng.randint(1, 3)
        acts = [rng.choice(hidden) for _ in range(L - 1)] + [out]
        case = random_case(rng, L, 4, acts, cost, rng.choice(REDUCTIONS),
                           rng.randint(1, 3), scale=rng.choice([1, 3]))
        if t % 2:
            case["weight_decay"] = 0.375                  # (WD.1)
        with mp.workdps(DPS):
            dx = []
            C, gW, gb = exact(case, dx_out=dx)
            # (IN.1) against central differences in each input
            X = case["inputs"]
            for s_ in range(len(X)):
                for j in range(len(X[s_])):
                    keep = X[s_][j]
                    X[s_][j] = mpf(keep) + h
                    cp = exact(case, DPS, want_grad=False)[0]
                    X[s_][j] = mpf(keep) - h
                    cm = exact(case, DPS, want_grad=False)[0]
                    X[s_][j] = keep
                    e = abs((cp - cm) / (2 * h) - dx[s_][j])
                    if e > mpf("1e-30") * max(1, abs(dx[s_][j])):
                        bad("trial %d: dC/da^0[%d][%d] differs by %s" %
                            (t, s_, j, mpmath.nstr(e, 3)))
            W, b = params_of(case)
            worst = mpf(0)
            for l in range(L):
                for k in range(len(W[l])):
                    for j in range(len(W[l][k]) + 1):
                        ref = W[l][k] if j < len(W[l][k]) else b[l]
                        i = j if j < len(W[l][k]) else k
                        g = gW[l][k][j] if j < len(W[l][k]) else gb[l][k]
                        keep = ref[i]
                        ref[i] = keep + h
                        cp = exact(case, DPS, W=W, b=b, want_grad=False)[0]
                        ref[i] = keep - h
                        cm = exact(case, DPS, W=W, b=b, want_grad=False)[0]
                        ref[i] = keep
                        fd = (cp - cm) / (2 * h)
                        worst = max(worst, abs(fd - g) / max(1, abs(g)))
            if worst > mpf("1e-30"):
                bad("trial %d (%s, %s): central differences differ by %s" %
                    (t, acts, cost, mpmath.nstr(worst, 3)))
            else:
                print("ok: trial %d %s %s %s: |fd - g| <= %s" %
                      (t, case["layers"], ",".join(acts), cost,
                       mpmath.nstr(worst, 2)))
        # the float32 and float64 answers are within their rounding of the
        # exact one
        if "relu" not in acts:
            ex = Exact(case)
            for dtype, most in (("float32", 1e-4), ("float64", 1e-12)):
                fW, fb = float_gradient(case, 0, dtype)
                scale_ = max(abs(v) for _, v in flatten(ex.gW, ex.gb)) or 1
                err = max(abs(mpf(a) - e) for (_, a), (_, e) in
                          zip(flatten(fW, fb), flatten(ex.gW, ex.gb)))
                if err / scale_ > most:
                    bad("trial %d: %s answer off by %s relative" %
                        (t, dtype, mpmath.nstr(err / scale_, 3)))

    # saturated: sigmoid + cross_entropy at z = +-700 and softmax gap 700,
    # the same doubles at 60 and at 300 digits
    sat = {"bpcheck": 1, "layers": [2, 3], "activations": "sigmoid",
           "cost": "cross_entropy", "reduction": "sum",
           "weights": [[[700.0, 0.0], [-700.0, 0.0], [37.5, 1.0]]],
           "biases": [[0.0, 0.0, 0.0]], "inputs": [[1.0, 0.0]],
           "targets": [[0.25, 1.0, 0.5]]}
    smx = dict(sat, activations="softmax", cost="categorical_cross_entropy",
               targets=[[0.0, 0.5, 0.5]])
    for c in (sat, smx):
        lo = Exact(c)
        hi = exact(c, 300)
        if Exact._doubles(hi) != Exact._doubles((lo.cost, lo.gW, lo.gb)):
            bad("saturated %s: 60 and 300 digits differ" % c["activations"])
    # the careful forms against the textbook ones at 800 digits, on
    # saturated cases of every output and cost (logits up to 700)
    sce = dict(sat, activations="softmax", cost="cross_entropy",
               targets=[[0.2, 0.5, 0.3]])
    squad = dict(sat, activations="softmax", cost="quadratic")
    sigq = dict(sat, cost="mse")
    deep = random_case(rng, 3, 4, ["tanh", "softplus", "sigmoid"],
                       "cross_entropy", "mean", 3, scale=30)
    for c in (sat, smx, sce, squad, sigq, deep):
        ex = Exact(c)
        if Exact._doubles(naive(c)) != Exact._doubles((ex.cost, ex.gW, ex.gb)):
            bad("%s %s: the careful forms differ from the textbook ones "
                "at 800 digits" % (c["activations"], c["cost"]))
    # dC/db for sigmoid + cross_entropy is a - y: 1 - 0.25, 0 - 1, ...
    ex = Exact(sat)
    if ex.gb_d[0][0] != 0.75 or ex.gb_d[0][1] != -1.0:
        bad("saturated sigmoid: dC/db = %r" % ex.gb_d)
    print("bpexact selftest: %d failed" % fails)
    return fails


# The command line --------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("case", nargs="?", help="a case file, or - for stdin")
    p.add_argument("--answer", action="store_true",
                   help="write the case with the exact gradient")
    p.add_argument("--cost", action="store_true", help="print the exact cost")
    p.add_argument("--zeros", action="store_true")
    p.add_argument("--negate", action="store_true")
    p.add_argument("--scale", metavar="F")
    p.add_argument("--only-layers", metavar="L1,L2")
    p.add_argument("--float32", action="store_true")
    p.add_argument("--float64", action="store_true")
    p.add_argument("--relu-prime-at-zero", type=int, choices=(0, 1),
                   default=0)
    p.add_argument("--inputs", action="store_true",
                   help="with --answer: dC/da^0 as well")
    p.add_argument("--selftest", action="store_true")
    o = p.parse_args(argv)
    if o.selftest:
        return 1 if selftest() else 0
    if not o.case:
        p.error("a case file is needed")
    wrong = [m for m in ("zeros", "negate") if getattr(o, m)] + \
        (["scale"] if o.scale is not None else [])
    if len(wrong) + o.float32 + o.float64 > 1:
        p.error("one of --zeros, --negate, --scale, --float32, --float64")
    try:
        case = load_case(o.case)
        architecture(case)
        if o.float32 or o.float64:
            dtype = "float32" if o.float32 else "float64"
            gW, gb = float_gradient(case, o.relu_prime_at_zero, dtype)
            bad = first_none(gW, gb)
            if bad:
                print("bpexact: the %s gradient is not finite at %s"
                      % (dtype, bad), file=sys.stderr)
                return 4
            print(dumps_case(case, gW, gb))
            return 0
        ex = Exact(case, o.relu_prime_at_zero)
        dx = exact_inputs(case, o.relu_prime_at_zero) if o.inputs else None
        if dx is not None and any(v is None for row in dx for v in row):
            print("bpexact: dC/da^0 is not a finite double", file=sys.stderr)
            return 4
    except CaseError as e:
        print("bpexact: %s" % e, file=sys.stderr)
        return 2
    except ArithmeticError as e:
        print("bpexact: %s" % e, file=sys.stderr)
        return 5
    if o.cost:
        print(mpmath.nstr(ex.cost, 40))
        print("double: %r" % ex.cost_d if ex.cost_d is not None else
              "double: not finite (overflows)")
        return 0
    layers = None
    if o.only_layers:
        layers = {int(v) for v in o.only_layers.split(",")}
    gW, gb = variant(ex, wrong[0] if wrong else "exact", o.scale, layers)
    bad = first_none(gW, gb)
    if bad:
        print("bpexact: the exact gradient is not a finite double: %s = %s"
              % (bad, mpmath.nstr(dict(flatten(ex.gW, ex.gb))[bad], 10)),
              file=sys.stderr)
        return 4
    print(dumps_case(case, gW, gb, dx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
