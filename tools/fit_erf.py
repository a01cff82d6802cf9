#!/usr/bin/env python3
"""The coefficients of the error function in ckpt's GELU kernel (Sources/CKernels/elementwise.c):
erf(x) ≈ x·P(x²)/Q(x²) on [0, 4], P of degree 6 and Q of degree 4 with Q(0) = 1, fitted for the
least largest absolute error by Loeb's linearisation (each round a least-squares fit of
x·P − erf·Q = 0 divided by the last round's Q) under Lawson's weights (each round's weights
multiplied by its errors). Prints the coefficients, highest power first, and the fit's largest
error in double precision (5.4e-8); the kernel evaluates it in f32, which adds its roundings.

    python tools/fit_erf.py
"""
import numpy as np
from scipy.special import erf

P_TERMS, Q_TERMS, ROUNDS = 7, 5, 400


def main():
    x = np.linspace(0, 4, 20001)
    x2, f = x * x, erf(x)
    q, weights = np.ones_like(x), np.ones_like(x)
    for _ in range(ROUNDS):
        columns = [x * x2**i / q for i in range(P_TERMS)] + [-f * x2**j / q for j in range(1, Q_TERMS)]
        a = np.stack(columns, 1)
        root = np.sqrt(weights)
        c, *_ = np.linalg.lstsq(a * root[:, None], f / q * root, rcond=None)
        p_coef, q_coef = c[:P_TERMS], np.concatenate([[1.0], c[P_TERMS:]])
        q = sum(q_coef[j] * x2**j for j in range(Q_TERMS))
        error = x * sum(p_coef[i] * x2**i for i in range(P_TERMS)) / q - f
        weights = np.maximum(weights * np.abs(error) / np.sum(weights * np.abs(error)), 1e-12)
    print("P:", ", ".join(f"{float(v)!r}f" for v in p_coef[::-1]))
    print("Q:", ", ".join(f"{float(v)!r}f" for v in q_coef[::-1]))
    print(f"largest error: {np.abs(error).max():.3g}")


if __name__ == "__main__":
    main()
