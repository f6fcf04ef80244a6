#!/usr/bin/env python3
"""09-noise-simulation.py -- the figures of proofs/09-any-function.md on
(AF.2)-(AF.4), by simulation (Python 3, no packages): the noise estimate of
lib/function.c on nine values f_j = s j + eps_j (eps i.i.d., Gaussian or
uniform, sigma = 1), and a right gradient's worst |T22 - C'| against its
tolerance K E when C' = 0 and every loss value carries fresh noise.

    python3 proofs/09-noise-simulation.py [probes]    (default 100000)
"""
import math
import random
import sys


def noise_estimate(f, m=8):
    """(AF.2), (AF.3): the largest of the first three agreeing orders."""
    sig, change, d, binom = {}, {}, list(f), 1.0
    for k in range(1, m + 1):
        d = [d[j + 1] - d[j] for j in range(len(d) - 1)]
        binom = binom * (2 * k) * (2 * k - 1) / (k * k)
        sig[k] = math.sqrt(sum(x * x for x in d) / len(d) / binom)
        change[k] = min(d) < 0 < max(d)
    for k in range(1, m - 1):
        three = (sig[k], sig[k + 1], sig[k + 2])
        if max(three) <= 4 * min(three) and change[k]:
            return max(three)
    return sig[m - 2]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    random.seed(1)
    c = (1 / 45, -20 / 45, 64 / 45)  # T22's weights on D(h / 2^q)
    bound = sum(abs(c[q]) * 2**q for q in range(3))  # 297/45, h = 1
    for name, draw in (("gaussian", lambda: random.gauss(0, 1)),
                       ("uniform", lambda: (random.random() - 0.5) * math.sqrt(12))):
        for slope in (0.3, 50.0):
            low4 = low2 = 0
            worst = {1: 0.0, 4: 0.0}
            for _ in range(n):
                s = noise_estimate([slope * j + draw() for j in range(9)])
                low4 += s < 0.25
                low2 += s < 0.5
                D = [(draw() - draw()) / (2 / 2**q) for q in range(3)]
                t11 = (4 * D[1] - D[0]) / 3
                t21 = (4 * D[2] - D[1]) / 3
                t22 = t21 + (t21 - t11) / 15
                trunc = max(abs(t22 - t21), abs(t22 - t11))
                for kappa in worst:
                    E = trunc + bound * kappa * s
                    worst[kappa] = max(worst[kappa], abs(t22) / (2 * E))
            print(f"{name} noise, slope {slope} sigma per step, {n} probes: "
                  f"P(sigma_hat < sigma/4) = {low4 / n:.2g}, "
                  f"P(sigma_hat < sigma/2) = {low2 / n:.2g}; worst |T22 - C'| / (K E): "
                  f"kappa 4: {worst[4]:.2f}, kappa 1: {worst[1]:.2f}")


main()
