#!/usr/bin/python3
"""edge_cases.py -- the table of extreme cases of issue 11, as case files
with answers, and the verdict `bpcheck verify` owes each one.

    edge_cases.py [--bpcheck CMD] [--campaign N] [--seed S] DIR

writes DIR/NAME.json (a case with "gradients") and DIR/manifest, one line
per check, tab separated:

    name  file  precision  expected-exit  why

The expected exit of `bpcheck verify --precision P FILE` (in every --mode)
follows from the exact cost and gradient (bpexact.py, mpmath) alone:

  2  the exact cost or some exact gradient entry is not a finite double
     (issue 11, point 1: "exit 2 naming the quantity"), whatever the answer;
  0  the answer is the exact gradient rounded to double, or the exact
     gradient with relu'(0) = 1 where a relu input is exactly 0 (issue 11,
     point 3: any value between the one-sided derivatives is accepted);
     a careful float64 implementation's answer (NumPy, another summation
     order: issue 11, point 2, "every exact or correct float64 answer
     passes everywhere"), even where it keeps few correct digits (least
     squares at the optimum, near-fitted networks);
     a float32 implementation's answer checked with --precision single;
  1  zeros, the negated or 1000 times the exact gradient, where the
     entries changed are well above what double rounding can blur (issue
     11, point 2: "a tiny gradient is checked as strictly as an ordinary
     one"); a float32 implementation's answer checked at the default
     double precision ("fails --precision double on every case").

Wrong answers are written only where a correct float64 backprop computes
the changed entries to a few digits at least (no cancellation below double
rounding), so that the verdict 1 does not depend on the tolerance model's
constants.  --campaign N adds N random `bpcheck gen` cases (seeds S, S+1,
...; architectures drawn from the seed) with weights and biases times 10
or 100, answered exactly: never refused (0), or 2 where the exact cost or
gradient overflows.
"""

import argparse
import json
import os
import random
import subprocess
import sys

from mpmath import mp, mpf
import mpmath

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpexact  # noqa: E402  (the oracle, beside this file)

MAXD = 1.7976931348623157e308


class Table:
    """The directory being written and its manifest."""

    def __init__(self, out, bpcheck):
        self.out = out
        self.bpcheck = bpcheck
        self.rows = []

    def gen(self, layers, acts, cost, batch, seed, reduction="mean"):
        """A case from `bpcheck gen` (the default space's distributions)."""
        cmd = [self.bpcheck, "gen", "--layers", layers, "--activations", acts,
               "--cost", cost, "--batch", str(batch), "--seed", str(seed),
               "--reduction", reduction]
        text = subprocess.run(cmd, check=True, capture_output=True,
                              text=True).stdout
        return json.loads(text)

    def write(self, name, case, gW, gb, precision, expected, why):
        path = os.path.join(self.out, name + ".json")
        # an answer must be JSON: a non-finite entry is written clamped
        clamp = lambda v: v if v is not None else MAXD  # noqa: E731
        gW = [[[clamp(v) for v in row] for row in Wl] for Wl in gW]
        gb = [[clamp(v) for v in bl] for bl in gb]
        with open(path, "w") as f:
            f.write(bpexact.dumps_case(case, gW, gb) + "\n")
        self.rows.append((name, name + ".json", precision, str(expected),
                          why))

    def answers(self, name, case, kinds, why, relu0=0, float64=True):
        """The case answered in each of kinds: exact, zeros, negate, x1000,
        relu0=1, float32, float64, or (kind, layers) for a wrong answer
        confined to some layers; with float64, a float64 answer is added
        after the exact one.  The expected verdicts as the module doc
        says."""
        ex = bpexact.Exact(case, relu0)
        bad = ex.nonfinite()
        if float64 and "exact" in kinds:
            i = kinds.index("exact") + 1
            kinds = kinds[:i] + ["float64"] + kinds[i:]
        for kind in kinds:
            layers = None
            if isinstance(kind, tuple):
                kind, layers = kind
            tag = kind if layers is None else "%s_L%s" % (
                kind, "-".join(map(str, sorted(layers))))
            row = "%s.%s" % (name, tag)
            if bad and kind == "float64":
                continue                    # the same verdict as exact's
            if bad:
                # issue 11 point 1: not a finite double -> exit 2, any answer
                gW, gb = bpexact.variant(ex)
                self.write(row, case, gW, gb, "double", 2,
                           "%s; not a finite double: %s" %
                           (why, ", ".join(bad[:3])))
                continue
            if kind == "exact":
                gW, gb = bpexact.variant(ex)
                self.write(row, case, gW, gb, "double", 0,
                           why + "; the exact gradient")
            elif kind == "relu0=1":
                ex1 = bpexact.Exact(case, 1)
                gW, gb = bpexact.variant(ex1)
                differs = bpexact.variant(ex) != (gW, gb)
                assert differs, name + ": relu'(0) makes no difference"
                self.write(row, case, gW, gb, "double", 0,
                           why + "; the subgradient relu'(0) = 1 (a kink)")
            elif kind == "float64":
                # issue 11 point 2: "every exact or correct float64 answer
                # passes everywhere" (skipped where float64 overflows)
                gW, gb = bpexact.float_gradient(case, relu0, "float64")
                if bpexact.first_none(gW, gb) is None:
                    self.write(row, case, gW, gb, "double", 0, why +
                               "; a careful NumPy float64 implementation")
            elif kind == "float32":
                gW, gb = bpexact.float32_gradient(case, relu0)
                assert bpexact.first_none(gW, gb) is None
                self.write(row + "@double", case, gW, gb, "double", 1,
                           why + "; float32 answer at double precision")
                self.write(row + "@single", case, gW, gb, "single", 0,
                           why + "; float32 answer at --precision single")
            else:
                mode = {"zeros": "zeros", "negate": "negate",
                        "x1000": "scale"}[kind]
                gW, gb = bpexact.variant(ex, mode, 1000, layers)
                assert (gW, gb) != bpexact.variant(ex), row + ": no change"
                size = max(abs(v) for l, v in layer_entries(ex)
                           if layers is None or l in layers)
                self.write(row, case, gW, gb, "double", 1,
                           "%s; %s answer%s (largest |g| changed %.2g)" %
                           (why, kind, "" if layers is None else
                            " in layers %s" % ",".join(map(str, sorted(
                                layers))), size))
        return ex

    def manifest(self):
        with open(os.path.join(self.out, "manifest"), "w") as f:
            for r in self.rows:
                assert "\t" not in r[4]
                f.write("\t".join(r) + "\n")


def layer_entries(ex):
    """(layer, exact double) for every gradient entry, layers 1-based."""
    return [(l, v) for l, (Wl, bl) in enumerate(zip(ex.gW_d, ex.gb_d), 1)
            for v in [v for row in Wl for v in row] + bl]


def tiny_layers(case, below=1e-9):
    """The layers whose every exact gradient entry is below `below` (and
    not all 0): where issue 11 found wrong answers passing unseen."""
    ex = bpexact.Exact(case)
    out = set()
    for l in range(1, len(ex.gW_d) + 1):
        sizes = [abs(v) for m, v in layer_entries(ex) if m == l]
        if 0 < max(sizes) < below:
            out.add(l)
    return out


def scaled(case, factor, layers=None):
    """Every weight and bias (of the layers listed, 1-based) times factor."""
    c = json.loads(json.dumps(case))
    for l in range(len(c["weights"])):
        if layers is None or l + 1 in layers:
            c["weights"][l] = [[v * factor for v in row]
                               for row in c["weights"][l]]
            c["biases"][l] = [v * factor for v in c["biases"][l]]
    return c


def direct(layers, acts, cost, W, b, X, Y, reduction="mean"):
    return {"bpcheck": 1, "layers": layers, "activations": acts,
            "cost": cost, "reduction": reduction, "weights": W, "biases": b,
            "inputs": X, "targets": Y}


def outputs(case):
    """The exact outputs a^L of every sample (mpf, 60 digits)."""
    n, acts, _, _ = bpexact.architecture(case)
    with mp.workdps(60):
        W, b = bpexact.params_of(case)
        rows = []
        for x in case["inputs"]:
            a = [mpf(v) for v in x]
            for l in range(len(n) - 1):
                z = [mpmath.fsum([W[l][k][j] * a[j] for j in range(n[l])] +
                                 [b[l][k]]) for k in range(n[l + 1])]
                a = bpexact.forward_layer(acts[l], z)[0]
            rows.append(a)
        return rows


def least_squares(rng, B, n0, n1, scale, cost, reduction):
    """A linear least-squares case at its optimum: identity output, B
    samples, targets times scale; W, b the exact optimum (normal equations
    solved at 60 digits) rounded to double, so the exact gradient is ~0
    relative to its terms (residual times input, ~scale)."""
    X = [[rng.uniform(-1, 1) for _ in range(n0)] for _ in range(B)]
    A = [[rng.gauss(0, 1) for _ in range(n0)] for _ in range(n1)]
    Y = [[scale * (sum(A[k][j] * x[j] for j in range(n0)) +
                   rng.gauss(0, 1)) for k in range(n1)] for x in X]
    W, b = [], []
    with mp.workdps(60):
        Xt = mpmath.matrix([[mpf(v) for v in x] + [mpf(1)] for x in X])
        G = Xt.T * Xt
        for k in range(n1):
            rhs = Xt.T * mpmath.matrix([mpf(y[k]) for y in Y])
            beta = mpmath.lu_solve(G, rhs)
            W.append([float(bpexact.to_double(beta[j])) for j in range(n0)])
            b.append(float(bpexact.to_double(beta[n0])))
    return direct([n0, n1], "identity", cost, [W], [b], X, Y, reduction)


WRONG = ["zeros", "negate", "x1000"]


def build(t):
    """The table.  Each block says where its expected verdicts come from."""
    rng = random.Random(11)

    # -- Saturated sigmoid + cross_entropy (issue 11: exact answers refused
    # above a logit of ~23 and below ~-355).  Exact answers: 0.  The
    # gradient is a - y, of ordinary size: a sign flip must fail (1).
    base = t.gen("8,16,3", "tanh,sigmoid", "cross_entropy", 4, 5)
    t.answers("sig_ce_gen_seed5_x10", scaled(base, 10), ["exact", "negate"],
              "gen 8,16,3 tanh,sigmoid cross_entropy seed 5, x10")
    t.answers("sig_ce_gen_seed5_x100", scaled(base, 100), ["exact", "negate"],
              "gen 8,16,3 tanh,sigmoid cross_entropy seed 5, x100")
    logits = [700.0, -700.0, 355.0, -355.0, 37.0, -37.0, 23.5, -745.0]
    for red in ("mean", "sum"):
        c = direct([2, 8], "sigmoid", "cross_entropy",
                   [[[z, 0.125 * (i - 4)] for i, z in enumerate(logits)]],
                   [[0.0] * 8], [[1.0, 0.0], [1.0, 1.0], [0.5, -1.0]],
                   [[rng.random() for _ in range(8)] for _ in range(3)], red)
        t.answers("sig_ce_logits700_" + red, c, ["exact", "negate"],
                  "sigmoid cross_entropy, logits +-700, +-355, +-37, -745")
    # fitted saturated outputs: y = 1 at z = 700 and y = 0 at z = -740: the
    # gradient is e^-700 ~ 1e-304 and e^-740 ~ 4e-322 (subnormal).  Exact
    # only: a double backprop computes a - y = 0 here, so no wrong answer
    # has a tolerance-independent verdict.
    c = direct([1, 2], "sigmoid", "cross_entropy", [[[700.0], [-740.0]]],
               [[0.0, 0.0]], [[1.0]], [[1.0, 0.0]], "sum")
    t.answers("sig_ce_fitted700", c, ["exact"],
              "sigmoid cross_entropy fitted at z = 700, -740 (|g| ~ 1e-304)")

    # -- Softmax + categorical_cross_entropy, logit gaps 30, 355, 700 (issue
    # 11: exit 2 "expected inf, received inf" from ~355).  Cost and
    # gradient finite: exact 0, negated 1.
    for gap in (30.0, 355.0, 700.0):
        c = direct([2, 3], "softmax", "categorical_cross_entropy",
                   [[[gap, 0.0], [0.0, 1.0], [0.5, -1.0]]], [[0.0, 0.0, 0.0]],
                   [[1.0, 0.0], [1.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]])
        t.answers("softmax_cce_gap%d" % gap, c, ["exact", "negate"],
                  "softmax categorical_cross_entropy, logit gap %g" % gap)
    # softmax + binary cross_entropy: gap 30 (issue 11), and 700 (1 - a_k
    # ~ e^-700, still a finite cost ~700 and an O(1) gradient)
    for gap in (30.0, 700.0):
        c = direct([2, 3], "softmax", "cross_entropy",
                   [[[gap, 0.0], [0.0, 1.0], [0.5, -1.0]]], [[0.0, 0.0, 0.0]],
                   [[1.0, 0.0], [1.0, 1.0]], [[0.2, 0.5, 0.3], [0.6, 0.9, 0.1]])
        t.answers("softmax_ce_gap%d" % gap, c, ["exact", "negate"],
                  "softmax cross_entropy, logit gap %g" % gap)

    # -- The same above 20000 parameters, where --mode auto checks along
    # directions: gen 100,200,3 (20803 parameters), W^1 x10, W^2 x100, the
    # outputs saturated (a from 1e-68 to 1 - 4e-5).  Exact 0, negated 1.
    base = t.gen("100,200,3", "tanh,sigmoid", "cross_entropy", 2, 12)
    t.answers("large_sig_ce_20803", scaled(scaled(base, 10, {1}), 100, {2}),
              ["exact", "negate"],
              "gen 100,200,3 tanh,sigmoid cross_entropy seed 12, W^1 x10, "
              "W^2 x100 (auto mode goes directional)")

    # -- relu, relu, softmax with weights x10 (issue 11: reference NaN)
    base = t.gen("4,8,8,3", "relu,relu,softmax", "categorical_cross_entropy",
                 4, 7)
    t.answers("relu_relu_softmax_x10", scaled(base, 10), ["exact", "negate"],
              "gen 4,8,8,3 relu,relu,softmax cce seed 7, x10")
    t.answers("relu_relu_softmax_x100", scaled(base, 100),
              ["exact", "negate"],
              "gen 4,8,8,3 relu,relu,softmax cce seed 7, x100")

    # -- Weights 1e300 times inputs 1e-300 (issue 11: exit 2 over one ulp).
    # identity, quadratic.  z^1 ~ 1, but dC/db^1 ~ W^2 (a - y) is huge and
    # dC/dW^1 ~ 1e-100.  With a target 1e200 the exact cost 1/2 (1e200)^2
    # overflows (finite gradient): 2.  With a target 1e150 it is 5e299: 0.
    W1 = [[1e300, -2e300], [3e300, 1e300], [-1e300, 5e299]]
    X = [[1e-300, 2e-300], [-3e-300, 1e-300]]
    for ty in (1e200, 1e150):
        c = direct([2, 3, 1], "identity", "quadratic",
                   [W1, [[0.5, -1.25, 2.0]]], [[0.0, 0.0, 0.0], [0.0]], X,
                   [[ty], [-ty]])
        t.answers("huge_w1e300_x1e-300_y%g" % ty, c, ["exact", "negate"],
                  "W^1 ~ 1e300, x ~ 1e-300, identity quadratic, y = %g" % ty)
    # the gradient itself overflows: z = 1e300 * 1e10 -> 2
    c = direct([1, 1], "identity", "quadratic", [[[1e300]]], [[0.0]],
               [[1e10]], [[0.0]])
    t.answers("overflow_z1e310", c, ["exact"],
              "identity quadratic, z = 1e310 (cost and gradient overflow)")

    # -- Near-fitted networks: targets = exact outputs + 1e-10 (issue 11:
    # exit 2 in full mode).  The gradient is ~1e-10 but a float64 backprop
    # has it to ~6 digits (a - y = 1e-10 against rounding 1e-16): exact 0,
    # zeros / negated / x1000 1.
    for name, (layers, acts, cost, red, seed) in {
            "nearfit_sig_quad": ("3,5,2", "sigmoid", "quadratic", "mean", 3),
            "nearfit_tanh_id_mse": ("4,6,3", "tanh,identity", "mse", "sum",
                                    4),
            "nearfit_tanh_sig_ce": ("3,4,2", "tanh,sigmoid", "cross_entropy",
                                    "mean", 6)}.items():
        c = t.gen(layers, acts, cost, 3, seed, red)
        with mp.workdps(60):
            c["targets"] = [[bpexact.to_double(a + mpf("1e-10")) for a in row]
                            for row in outputs(c)]
        t.answers(name, c, ["exact"] + WRONG,
                  "gen %s %s %s, targets = outputs + 1e-10" %
                  (layers, acts, cost))

    # -- Least squares at its optimum, targets x1e8, batch 64 (issue 11:
    # exact answers exit 1, "0.63 times the reference").  The exact gradient
    # is ~1e-14 of its terms: below the rounding of any double backprop, so
    # only the exact answer has a tolerance-independent verdict: 0.
    t.answers("lsq_opt_quadratic_mean", least_squares(
        rng, 64, 4, 2, 1e8, "quadratic", "mean"), ["exact"],
        "least squares at its optimum, targets x1e8, batch 64, quadratic")
    t.answers("lsq_opt_mse_sum", least_squares(
        rng, 64, 3, 3, 1e8, "mse", "sum"), ["exact"],
        "least squares at its optimum, targets x1e8, batch 64, mse sum")

    # -- Tiny gradients (issue 11: zeros, sign flips, x1000 pass under
    # atol 1e-9).  Products of small factors, no cancellation: a float64
    # backprop has every digit that matters, so wrong answers fail (1).
    # Deep sigmoid networks as gen makes them: the first layers' entries
    # are tiny, the last ones ordinary, so wrong answers are also written
    # confined to the layers whose entries are all below 1e-9.
    for depth, seed in ((16, 1), (20, 2)):
        layers = ",".join(["4"] + ["8"] * (depth - 1) + ["2"])
        c = t.gen(layers, "sigmoid", "quadratic", 4, seed)
        tiny = tiny_layers(c)         # the first few layers: |g| < 1e-9
        assert tiny, "no tiny layer at depth %d" % depth
        t.answers("deep_sigmoid_d%d" % depth, c,
                  ["exact"] + WRONG + [(w, tiny) for w in WRONG],
                  "gen depth %d sigmoid quadratic seed %d" % (depth, seed))
    # saturated outputs: sigmoid + quadratic at z ~ +-40, every entry ~1e-17
    c = direct([2, 3], "sigmoid", "quadratic",
               [[[40.0, 1.0], [-38.0, 0.5], [41.0, -2.0]]], [[0.0, 1.0, -1.0]],
               [[1.0, 0.5], [1.0, -0.5]], [[0.3, -0.2, 0.7], [1.5, 0.1, 0.0]])
    t.answers("saturated_sig_quad", c, ["exact"] + WRONG,
              "sigmoid quadratic, z ~ +-40 (every |g| ~ 1e-17)")
    # softmax + quadratic with gap 40: every entry ~ e^-40
    c = direct([2, 3], "softmax", "quadratic",
               [[[40.0, 0.0], [0.0, 1.0], [0.5, -1.0]]], [[0.0, 0.0, 0.0]],
               [[1.0, 0.0], [1.0, 1.0]], [[0.2, 0.5, 0.3], [0.6, 0.9, 0.1]])
    t.answers("saturated_softmax_quad", c, ["exact"] + WRONG,
              "softmax quadratic, logit gap 40 (every |g| ~ 1e-17)")

    # -- Deep sigmoid networks with their first layers' weights zeroed: the
    # gradients of W^1, b^1, W^2, b^2 are exactly 0 (delta^1 = W^2T ... = 0),
    # the next layers tiny, the last ones ordinary.  Exact 0 (the exact
    # zeros included); wrong answers 1, also confined to the tiny layers.
    c = t.gen(",".join(["4"] + ["8"] * 17 + ["2"]), "sigmoid", "quadratic",
              4, 3)
    for l in range(3):
        c["weights"][l] = [[0.0] * len(row) for row in c["weights"][l]]
    tiny = tiny_layers(c)             # W^3, W^4, ...: |g| < 1e-9
    assert tiny
    t.answers("deep_sigmoid_zeroed3", c,
              ["exact", "zeros", "negate"] + [(w, tiny) for w in WRONG],
              "gen depth 18 sigmoid quadratic, W^1..W^3 = 0")

    # -- float32 implementations (issue 11: pass double precision 1 in 4):
    # cases of the default space; 1 at double precision, 0 at single.
    # (With the current core, about 1 in 3 of these pass at double.)
    f32 = [(layers, acts, cost, seed) for seed in (1, 2, 3, 4, 5)
           for layers, acts, cost in (
               ("4,5,3", "relu,softmax", "categorical_cross_entropy"),
               ("3,4,2", "softplus,identity", "mse"),
               ("3,4,2", "sigmoid", "quadratic"),
               ("5,6,2", "tanh,sigmoid", "cross_entropy"))]
    f32 += [("8,16,3", "tanh,sigmoid", "cross_entropy", 5),
            ("3,4,4,2", "softplus,tanh,identity", "mse", 4)]
    for layers, acts, cost, seed in f32:
        c = t.gen(layers, acts, cost, 4, seed)
        t.answers("f32_%s_%s_s%d" % (layers.replace(",", "-"),
                                     acts.replace(",", "-"), seed),
                  c, ["float32"], "gen %s %s %s seed %d" %
                  (layers, acts, cost, seed))

    # -- Every number of the case near 1e-100 and 1e-200 (weights, biases,
    # inputs and targets of a relu, identity, mse gen case): the steps of
    # central differences, 2^-7 at this scale, move each cost to ~h^2, far
    # above the bound e_C at theta; without (CD.13) the full check took the
    # b^2 entries' differences (0) as exact and refused the exact answer
    # (exit 2).  Exact 0, negated 1.
    base = t.gen("3,4,2", "relu,identity", "mse", 4, 9)
    for s in (1e-100, 1e-200):
        c = json.loads(json.dumps(base))
        for key in ("weights", "biases", "inputs", "targets"):
            c[key] = [[[v * s for v in r] for r in m] if isinstance(m[0], list)
                      else [v * s for v in m] for m in c[key]]
        t.answers("tiny_all_relu_mse_%g" % s, c, ["exact", "negate"],
                  "gen 3,4,2 relu,identity mse seed 9, every number x%g" % s)

    # -- parameters of very different scales in one case: a direction whose
    # step is scaled by the largest parameter moved the small ones far out
    # of the difference quotient's range, and --mode directional refused
    # the exact answer in all four directions; (DR.3) scales each
    # component by its own magnitude.
    c = t.gen("3,4,2", "tanh,sigmoid", "cross_entropy", 4, 31)
    c["weights"][0] = [[v * 1e8 for v in r] for r in c["weights"][0]]
    t.answers("scales_w1_1e8", c, ["exact", "negate"],
              "gen 3,4,2 tanh,sigmoid cross_entropy seed 31, W^1 x1e8")
    c = t.gen("3,4,2", "tanh,identity", "quadratic", 3, 7)
    c["weights"][1] = [[v * 1e100 for v in r] for r in c["weights"][1]]
    c["biases"][1] = [v * 1e100 for v in c["biases"][1]]
    t.answers("scales_l2_1e100", c, ["exact", "negate"],
              "gen 3,4,2 tanh,identity quadratic seed 7, W^2 and b^2 x1e100")

    # -- relu inputs exactly at 0: a zero input row and zero biases put
    # z^1 = 0 (and, with b^2 = 0 too, z^2 = W^2 relu(0) = 0) for that
    # sample.  relu'(0) = 0 and relu'(0) = 1 are both subgradients (ACT.3),
    # issue 11 point 3: both answers 0; a negated answer 1.
    c = t.gen("3,4,2", "relu,sigmoid", "quadratic", 3, 8)
    c["inputs"][0] = [0.0, 0.0, 0.0]
    c["biases"][0] = [0.0] * 4
    t.answers("relu_kink_l1", c, ["exact", "relu0=1", "negate"],
              "gen 3,4,2 relu,sigmoid, input row 0 and b^1 zero")
    c = t.gen("3,4,4,3", "relu,relu,softmax", "categorical_cross_entropy",
              3, 9)
    c["inputs"][1] = [0.0, 0.0, 0.0]
    c["biases"][0] = [0.0] * 4
    c["biases"][1] = [0.0] * 4
    t.answers("relu_kink_l1l2", c, ["exact", "relu0=1", "negate"],
              "gen 3,4,4,3 relu,relu,softmax, input row 1, b^1, b^2 zero")


HIDDEN = ["sigmoid", "tanh", "relu", "identity", "softplus"]
PAIRS = [("sigmoid", "quadratic"), ("sigmoid", "mse"),
         ("sigmoid", "cross_entropy"), ("softmax", "quadratic"),
         ("softmax", "cross_entropy"),
         ("softmax", "categorical_cross_entropy"), ("tanh", "quadratic"),
         ("identity", "mse"), ("relu", "quadratic"), ("softplus", "mse")]


def campaign(t, n, seed0):
    """n random gen cases, seeds seed0.., x10 (even seeds) or x100 (odd),
    answered exactly: 0 (never refused), or 2 where not finite.  Every
    choice follows from the seed, so `--campaign 1 --seed S` (in the
    script: BPCHECK_SEED=S EDGE_CAMPAIGN=1) rebuilds case S alone."""
    for i in range(n):
        seed = seed0 + i
        rng = random.Random(seed)
        L = rng.randint(1, 4)
        out, cost = rng.choice(PAIRS)
        acts = [rng.choice(HIDDEN) for _ in range(L - 1)] + [out]
        sizes = [rng.randint(1, 6)] + [rng.randint(1, 8) for _ in range(L)]
        if out == "softmax":
            sizes[-1] = max(2, sizes[-1])
        red = rng.choice(["mean", "sum"])
        batch = rng.randint(1, 4)
        factor = 10 if seed % 2 == 0 else 100   # the seed alone decides
        layers = ",".join(map(str, sizes))
        c = scaled(t.gen(layers, ",".join(acts), cost, batch, seed, red),
                   factor)
        desc = ("campaign seed %d: %s %s %s %s batch %d, x%d" %
                (seed, "-".join(map(str, sizes)), ",".join(acts), cost, red,
                 batch, factor))
        t.answers("campaign_%d" % seed, c, ["exact"], desc, float64=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--bpcheck", default="src/bpcheck",
                   help="the bpcheck command (for gen)")
    p.add_argument("--campaign", type=int, default=0, metavar="N")
    p.add_argument("--seed", type=int, default=1100, metavar="S")
    p.add_argument("--no-table", action="store_true",
                   help="the campaign only")
    o = p.parse_args()
    os.makedirs(o.dir, exist_ok=True)
    t = Table(o.dir, o.bpcheck)
    if not o.no_table:
        build(t)
    campaign(t, o.campaign, o.seed)
    t.manifest()
    print("edge_cases: %d checks in %s" % (len(t.rows), o.dir))


if __name__ == "__main__":
    main()
