#!/usr/bin/env python3
"""Fits the two polynomials of cj::cpu::normal_cdf_pdf_f32 (tensor/cpu/fast_math.hpp), the
vectorisable normal CDF behind the exact (erf) GELU, and prints their float coefficients (highest
degree first, as the Horner loops there use them). Needs numpy and torch (for erfc/erfcx in f64).

  core:  (Phi(x) - 1/2) / x = P(x^2)              on |x| < 0.75, degree 6
  tail:  Phi(-a) exp(a^2 / 2) = t Q(t), t = 1 / (1 + a / 2)   on [0.75, 14.5], degree 10

Both are least-squares fits in a Chebyshev basis weighted for relative error, converted to
monomials; the script also reports their relative error in exact arithmetic.
"""
import numpy as np
import torch

CORE_END, TAIL_END, TAIL_P = 0.75, 14.5, 0.5


def fit_relative(x, y, degree):
    lo, hi = x.min(), x.max()
    u = (2 * x - (lo + hi)) / (hi - lo)
    basis = np.polynomial.chebyshev.chebvander(u, degree)
    weight = 1 / np.abs(y)
    c, *_ = np.linalg.lstsq(basis * weight[:, None], y * weight, rcond=None)
    in_u = np.polynomial.Polynomial(np.polynomial.chebyshev.cheb2poly(c))
    coef = in_u(np.polynomial.Polynomial([-(lo + hi) / (hi - lo), 2 / (hi - lo)])).coef
    err = np.max(np.abs(np.polynomial.polynomial.polyval(x, coef) / y - 1))
    return coef, err


def main():
    x = np.linspace(1e-6, CORE_END, 100001)
    phi = 0.5 * torch.special.erfc(torch.from_numpy(-x / np.sqrt(2))).numpy()
    core, core_err = fit_relative(x * x, (phi - 0.5) / x, 6)
    a = np.linspace(CORE_END, TAIL_END, 400001)
    t = 1 / (1 + TAIL_P * a)
    scaled = 0.5 * torch.special.erfcx(torch.from_numpy(a / np.sqrt(2))).numpy()
    tail, tail_err = fit_relative(t, scaled / t, 10)
    for name, coef, err in (("P (core)", core, core_err), ("Q (tail)", tail, tail_err)):
        print(f"{name}: max relative error {err:.2e}")
        print("  " + ", ".join(f"{np.float32(c):.9e}f" for c in coef[::-1]))


if __name__ == "__main__":
    main()
