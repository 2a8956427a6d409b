#!/usr/bin/env python3
"""Minimax polynomial coefficients for gradlift's CLIF math kernels.

Every kernel approximates a function F on a reduced interval as
    F(x) ~ A(x) + B(x) * P(t),   t = x or x*x,   P(t) = sum c_j t^j
and we want the coefficients c_j that minimise the largest *relative* error
    (F(x) - A(x) - B(x) P(t)) / W(x)
over the interval (W = F for relative error). That is a linear minimax
problem, solved here with the Remez exchange on a dense grid, in 60-digit
arithmetic (mpmath). The printed coefficients are rounded to the target
format; `cargo test --test math_accuracy` measures what the rounded set
achieves inside the real kernels.

Run: python3 compiler/src/codegen/math/remez.py  (needs mpmath)
"""
import struct

import mpmath as mp

mp.mp.dps = 60


def remez(F, A, B, W, lo, hi, n, even=False, iters=40, grid=6000):
    """Coefficients c_0..c_{n-1} and the achieved max weighted error."""
    t_of = (lambda x: x * x) if even else (lambda x: x)

    def h(x):
        return (F(x) - A(x)) / W(x)

    def psi(j, x):
        return B(x) * t_of(x) ** j / W(x)

    # Dense grid, Chebyshev-clustered towards the ends.
    xs = [lo + (hi - lo) * (1 - mp.cos(mp.pi * k / (grid - 1))) / 2 for k in range(grid)]
    hs = [h(x) for x in xs]
    ps = [[psi(j, x) for j in range(n)] for x in xs]

    # Initial reference: n+1 Chebyshev extrema.
    ref = [int(round((grid - 1) * (1 - mp.cos(mp.pi * i / n)) / 2)) for i in range(n + 1)]
    c = None
    for _ in range(iters):
        M = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for i, k in enumerate(ref):
            for j in range(n):
                M[i, j] = ps[k][j]
            M[i, n] = (-1) ** i
            rhs[i] = hs[k]
        sol = mp.lu_solve(M, rhs)
        c = [sol[j] for j in range(n)]
        E = abs(sol[n])
        err = [hs[k] - sum(c[j] * ps[k][j] for j in range(n)) for k in range(grid)]
        # Local extrema of the error, alternating in sign.
        ext = []
        for k in range(grid):
            a = abs(err[k])
            left = abs(err[k - 1]) if k > 0 else -1
            right = abs(err[k + 1]) if k < grid - 1 else -1
            if a >= left and a >= right and a > 0:
                ext.append(k)
        alt = []
        for k in ext:
            if alt and mp.sign(err[k]) == mp.sign(err[alt[-1]]):
                if abs(err[k]) > abs(err[alt[-1]]):
                    alt[-1] = k
            else:
                alt.append(k)
        while len(alt) > n + 1:
            # Drop the smaller end.
            if abs(err[alt[0]]) < abs(err[alt[-1]]):
                alt.pop(0)
            else:
                alt.pop()
        maxerr = max(abs(e) for e in err)
        if len(alt) == n + 1:
            ref = alt
        if maxerr <= E * (1 + mp.mpf("1e-6")):
            break
    return c, maxerr


def f32_literal(v):
    """Shortest decimal that rounds to the same f32 as v."""
    x = struct.unpack("f", struct.pack("f", float(v)))[0]
    for d in range(1, 18):
        s = "%.*e" % (d, x)
        if struct.unpack("f", struct.pack("f", float(s)))[0] == x:
            return repr(float(s))


def show(name, c, err, fmt):
    bits = -mp.log(err, 2)
    print(f"// {name}: max rel error 2^-{mp.nstr(bits, 4)}")
    for j, v in enumerate(c):
        lit = f32_literal(v) if fmt == "f32" else repr(float(v))
        print(f"    {lit}, // c{j}")


def one(_x):
    return mp.mpf(1)


LN2H = mp.log(2) / 2
PI4 = mp.pi / 4


def fit_all():
    """Every table of coeffs.rs and pow.rs, with the parameters used."""
    ex = lambda x: mp.exp(x)
    em1 = lambda x: mp.expm1(x) if x != 0 else mp.mpf("1e-300")
    atanh_r = lambda s: 2 * mp.atanh(s) / s - 2 if s != 0 else mp.mpf(0)
    smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * mp.mpf("1.0001")
    lo, hi = -LN2H * mp.mpf("1.0001"), LN2H * mp.mpf("1.0001")
    tiny = mp.mpf("1e-30")
    fits = [
        # name, F, A, B, W, lo, hi, n, even, fmt, grid
        ("EXP_F32: exp(r) = 1 + r + r^2 P(r)", ex, lambda x: 1 + x, lambda x: x * x, ex, lo, hi, 5, False, "f32", 6000),
        ("EXP_F64", ex, lambda x: 1 + x, lambda x: x * x, ex, lo, hi, 10, False, "f64", 6000),
        ("EXPM1_F32: expm1(r) = r + r^2 P(r)", mp.expm1, lambda x: x, lambda x: x * x, em1, lo, hi, 6, False, "f32", 6000),
        ("EXPM1_F64", mp.expm1, lambda x: x, lambda x: x * x, em1, lo, hi, 11, False, "f64", 6000),
        ("LOG_F32: R(z) = z Q(z), weight 2", atanh_r, lambda s: mp.mpf(0), lambda s: s * s, lambda s: mp.mpf(2), tiny, smax, 4, True, "f32", 6000),
        ("LOG_F64", atanh_r, lambda s: mp.mpf(0), lambda s: s * s, lambda s: mp.mpf(2), tiny, smax, 8, True, "f64", 1500),
        ("POW32_LOG (f64 values)", atanh_r, lambda s: mp.mpf(0), lambda s: s * s, lambda s: mp.mpf(2), tiny, smax, 4, True, "f64", 1500),
        ("POW32_EXP (f64 values)", ex, lambda x: 1 + x, lambda x: x * x, ex, lo, hi, 5, False, "f64", 1500),
        ("TANH_F32: x + x^3 P(x^2), x <= 0.625", mp.tanh, lambda x: x, lambda x: x**3, mp.tanh, tiny, mp.mpf("0.625") * mp.mpf("1.0001"), 5, True, "f32", 1500),
        ("SIN_F32: r + r^3 S(r^2)", mp.sin, lambda x: x, lambda x: x**3, mp.sin, tiny, PI4 * mp.mpf("1.0001"), 3, True, "f32", 6000),
        ("COS_F32: 1 - r^2/2 + r^4 C(r^2)", mp.cos, lambda x: 1 - x * x / 2, lambda x: x**4, mp.cos, tiny, PI4 * mp.mpf("1.0001"), 3, True, "f32", 6000),
        ("SIN_F64", mp.sin, lambda x: x, lambda x: x**3, mp.sin, tiny, PI4 * mp.mpf("1.0001"), 6, True, "f64", 6000),
        ("COS_F64", mp.cos, lambda x: 1 - x * x / 2, lambda x: x**4, mp.cos, tiny, PI4 * mp.mpf("1.0001"), 6, True, "f64", 6000),
    ]
    for name, F, A, B, W, a, b, n, even, fmt, grid in fits:
        c, e = remez(F, A, B, W, a, b, n, even=even, grid=grid)
        show(name, c, e, fmt)
    fit_erf()


def fit_erf():
    """erf tables (50 digits, grid 1000): small x, then 1 - exp(-x^2) P(t)
    with t = x - mid or 1/x - mid."""
    mp.mp.dps = 50
    erf = mp.erf
    T = mp.mpf("0.84375")
    c, e = remez(erf, lambda x: x, lambda x: x, erf, mp.mpf("1e-20"), T, 6, even=True, grid=1000)
    show("ERF_SMALL_F32", c, e, "f32")
    c, e = remez(erf, lambda x: x, lambda x: x, erf, mp.mpf("1e-20"), T, 12, even=True, grid=1000)
    show("ERF_SMALL_F64", c, e, "f64")
    for name, lo_, hi_, n, fmt in (("ERF_LARGE_F32", T, mp.mpf(4), 12, "f32"), ("ERF_MID_F64", T, mp.mpf("2.5"), 18, "f64")):
        mid = (lo_ + hi_) / 2
        G = lambda t, mid=mid: mp.erf(t + mid)
        c, e = remez(G, lambda t: mp.mpf(1), lambda t, mid=mid: -mp.exp(-((t + mid) ** 2)), G, lo_ - mid, hi_ - mid, n, grid=1000)
        show(f"{name}: t = x - {mp.nstr(mid, 10)}", c, e, fmt)
    umid = (1 / mp.mpf(6) + 1 / mp.mpf("2.5")) / 2
    G = lambda t: mp.erf(1 / (t + umid))
    c, e = remez(G, lambda t: mp.mpf(1), lambda t: -mp.exp(-1 / (t + umid) ** 2), G, 1 / mp.mpf(6) - umid, 1 / mp.mpf("2.5") - umid, 12, grid=1000)
    show(f"ERF_TAIL_F64: t = 1/x - {mp.nstr(umid, 17)}", c, e, "f64")


if __name__ == "__main__":
    fit_all()
