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


def show(name, c, err, fmt):
    bits = -mp.log(err, 2)
    print(f"// {name}: max rel error 2^-{mp.nstr(bits, 4)}")
    for j, v in enumerate(c):
        if fmt == "f32":
            s = repr(float(mp.mpf(v)))  # printed with f64 repr; rounded to f32 in Rust
            print(f"    {s}_f32, // c{j}")
        else:
            print(f"    {repr(float(v))}, // c{j}")


def one(_x):
    return mp.mpf(1)


LN2H = mp.log(2) / 2
PI4 = mp.pi / 4


def fit_all():
    ex = lambda x: mp.exp(x)
    for fmt, n in (("f32", 5), ("f64", 10)):
        # exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2 (+ slack for the rounded reduction)
        c, e = remez(ex, lambda x: 1 + x, lambda x: x * x, ex, -LN2H * 1.0001, LN2H * 1.0001, n)
        show(f"exp {fmt} P deg {n-1}", c, e, fmt)
    em1 = lambda x: mp.expm1(x) if x != 0 else mp.mpf(0)
    for fmt, n in (("f32", 6), ("f64", 11)):
        # expm1(r) = r + r^2 P(r)
        c, e = remez(
            lambda x: mp.expm1(x),
            lambda x: x,
            lambda x: x * x,
            lambda x: mp.expm1(x) if x != 0 else mp.mpf("1e-300"),
            -LN2H * 1.0001,
            LN2H * 1.0001,
            n,
        )
        show(f"expm1 {fmt} P deg {n-1}", c, e, fmt)
    smax = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * mp.mpf("1.0001")
    for fmt, n in (("f32", 4), ("f64", 7)):
        # log1p(f) = f - s (f - R), s = f/(2+f), R(z) = 2atanh(s)/s - 2 = z Q(z), z = s^2.
        # Error of the result ~ s dR, relative to log1p(f) ~ 2s: weight 2.
        c, e = remez(
            lambda s: 2 * mp.atanh(s) / s - 2 if s != 0 else mp.mpf(0),
            lambda s: mp.mpf(0),
            lambda s: s * s,
            lambda s: mp.mpf(2),
            mp.mpf("1e-30"),
            smax,
            n,
            even=True,
        )
        show(f"log {fmt} Q deg {n-1} (in z)", c, e, fmt)
    th = lambda x: mp.tanh(x)
    for fmt, n, hi in (("f32", 4, mp.mpf("0.625")),):
        c, e = remez(th, lambda x: x, lambda x: x**3, th, mp.mpf("1e-30"), hi * mp.mpf("1.0001"), n, even=True)
        show(f"tanh {fmt} P deg {n-1} (in x^2) on [0, {hi}]", c, e, fmt)
    for fmt, ns, nc in (("f32", 3, 3), ("f64", 6, 6)):
        c, e = remez(lambda x: mp.sin(x), lambda x: x, lambda x: x**3, lambda x: mp.sin(x),
                     mp.mpf("1e-30"), PI4 * mp.mpf("1.0001"), ns, even=True)
        show(f"sin {fmt} S deg {ns-1} (in r^2)", c, e, fmt)
        c, e = remez(lambda x: mp.cos(x), lambda x: 1 - x * x / 2, lambda x: x**4, lambda x: mp.cos(x),
                     mp.mpf("1e-30"), PI4 * mp.mpf("1.0001"), nc, even=True)
        show(f"cos {fmt} C deg {nc-1} (in r^2)", c, e, fmt)


if __name__ == "__main__":
    fit_all()
