//! Double-double (about 106-bit) reference values for the f64 accuracy
//! tests, so that measured f64 errors are not blurred by std's own
//! (up to ~1 ulp) error. Values are returned as `Scaled { v, e }` meaning
//! `v * 2^e`, so that results near the underflow and overflow thresholds
//! keep their full precision.
//!
//! Methods: exp by Cody–Waite with a double-double ln2, a Taylor series on
//! `r / 2^10` and ten squarings; expm1 likewise with `e <- e (2 + e)`;
//! log by one Newton step on exp from std's `ln`; sin/cos by reduction with
//! a 4-part pi/2 and Taylor series. The reference is good to about 2^-95
//! relative, far below the f64 ulp.

/// A double-double `hi + lo`, `|lo| <= ulp(hi) / 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DD {
    pub hi: f64,
    pub lo: f64,
}

/// `v * 2^e`.
#[derive(Clone, Copy, Debug)]
pub struct Scaled {
    pub v: DD,
    pub e: i32,
}

fn two_sum(a: f64, b: f64) -> DD {
    let s = a + b;
    let bp = s - a;
    let ap = s - bp;
    DD { hi: s, lo: (a - ap) + (b - bp) }
}

fn quick(a: f64, b: f64) -> DD {
    let s = a + b;
    DD { hi: s, lo: b - (s - a) }
}

fn two_prod(a: f64, b: f64) -> DD {
    let p = a * b;
    DD { hi: p, lo: a.mul_add(b, -p) }
}

impl DD {
    pub const fn new(hi: f64) -> DD {
        DD { hi, lo: 0.0 }
    }
    pub fn add(self, o: DD) -> DD {
        let s = two_sum(self.hi, o.hi);
        let t = two_sum(self.lo, o.lo);
        let s = quick(s.hi, s.lo + t.hi);
        quick(s.hi, s.lo + t.lo)
    }
    pub fn neg(self) -> DD {
        DD { hi: -self.hi, lo: -self.lo }
    }
    pub fn sub(self, o: DD) -> DD {
        self.add(o.neg())
    }
    pub fn mul(self, o: DD) -> DD {
        let p = two_prod(self.hi, o.hi);
        quick(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
    }
    pub fn mul_f(self, f: f64) -> DD {
        let p = two_prod(self.hi, f);
        quick(p.hi, p.lo + self.lo * f)
    }
    pub fn div(self, o: DD) -> DD {
        let q1 = self.hi / o.hi;
        let r = self.sub(o.mul_f(q1));
        let q2 = r.hi / o.hi;
        let r = r.sub(o.mul_f(q2));
        let q3 = r.hi / o.hi;
        quick(q1, q2).add(DD::new(q3))
    }
    /// Scaling by a power of two (exact unless it underflows).
    pub fn ldexp(self, e: i32) -> DD {
        DD { hi: super::ldexp(self.hi, e), lo: super::ldexp(self.lo, e) }
    }
}

/// 2^e for e in the normal range.
pub fn pow2(e: i32) -> f64 {
    assert!((-1022..=1023).contains(&e), "pow2({e})");
    f64::from_bits(((e + 1023) as u64) << 52)
}

const LN2: DD = DD { hi: std::f64::consts::LN_2, lo: 2.319_046_813_846_299_6e-17 };
const LN2_3: f64 = 5.707_708_438_416_212e-34;

/// exp(x) for a double-double x with |x| < 2000 (finite).
pub fn exp(x: DD) -> Scaled {
    let n = (x.hi / LN2.hi).round();
    // r = x - n ln2 with a three-part ln2.
    let r = x.sub(two_prod(n, LN2.hi)).sub(two_prod(n, LN2.lo)).sub(DD::new(n * LN2_3));
    let em = expm1_small(r);
    Scaled { v: em.add(DD::new(1.0)), e: n as i32 }
}

/// expm1(r) for |r| <= 0.5: Taylor on r/2^10, then e <- e (2 + e).
fn expm1_small(r: DD) -> DD {
    let s = r.ldexp(-10);
    let mut term = s;
    let mut sum = s;
    for k in 2..=12 {
        term = term.mul(s).div(DD::new(k as f64));
        sum = sum.add(term);
    }
    let mut e = sum;
    for _ in 0..10 {
        e = e.mul(DD::new(2.0).add(e));
    }
    e
}

/// exp(x) as f64 inputs.
pub fn exp_f(x: f64) -> Scaled {
    exp(DD::new(x))
}

/// expm1(x).
pub fn expm1(x: f64) -> Scaled {
    if x.abs() < 1e-30 {
        // x + x^2/2 (the Taylor path would scale x into the denormals).
        return Scaled { v: DD::new(x).add(two_prod(x, x).mul_f(0.5)), e: 0 };
    }
    if x.abs() <= 0.5 {
        Scaled { v: expm1_small(DD::new(x)), e: 0 }
    } else {
        let e = exp_f(x);
        if e.e > 200 {
            return e; // the -1 is far below the precision
        }
        Scaled { v: e.v.ldexp(e.e).sub(DD::new(1.0)), e: 0 }
    }
}

/// log(u) for a positive finite double-double u (u.lo may be nonzero).
pub fn log_dd(u: DD) -> DD {
    let y0 = u.hi.ln();
    // One Newton step: y1 = y0 + u exp(-y0) - 1.
    let e = exp(DD::new(-y0));
    let ue = u.ldexp(e.e).mul(e.v);
    let t = ue.sub(DD::new(1.0));
    DD::new(y0).add(t)
}

pub fn log(x: f64) -> DD {
    if (x - 1.0).abs() < 1e-3 {
        return log1p_series(x - 1.0); // x - 1 is exact here
    }
    log_dd(DD::new(x))
}

pub fn log1p(x: f64) -> DD {
    if x.abs() < 1e-3 {
        return log1p_series(x);
    }
    log_dd(two_sum(1.0, x))
}

/// log1p(x) = x - x^2/2 + x^3/3 - ... for |x| < 1e-3 (the Newton step on
/// exp would only be accurate to 2^-106 absolute).
fn log1p_series(x: f64) -> DD {
    let xd = DD::new(x);
    let mut pw = xd;
    let mut sum = xd;
    for k in 2..=12 {
        pw = pw.mul(xd);
        let t = pw.div(DD::new(k as f64));
        sum = if k % 2 == 0 { sum.sub(t) } else { sum.add(t) };
        if t.hi.abs() < sum.hi.abs() * 1e-34 {
            break;
        }
    }
    sum
}

pub fn tanh(x: f64) -> DD {
    let a = x.abs().min(40.0);
    if a < 1e-30 {
        return DD::new(x);
    }
    let em = expm1(2.0 * a);
    let em = em.v.ldexp(em.e);
    let t = em.div(em.add(DD::new(2.0)));
    if x < 0.0 {
        t.neg()
    } else {
        t
    }
}

pub fn logistic(x: f64) -> Scaled {
    if x >= 0.0 {
        let e = exp_f(-x);
        let d = DD::new(1.0).add(if e.e < -1000 { DD::new(0.0) } else { e.v.ldexp(e.e) });
        Scaled { v: DD::new(1.0).div(d), e: 0 }
    } else {
        // e / (1 + e), e = v 2^n.
        let e = exp_f(x);
        let ef = if e.e < -1000 { DD::new(0.0) } else { e.v.ldexp(e.e) };
        let d = DD::new(1.0).add(ef);
        Scaled { v: e.v.div(d), e: e.e }
    }
}

/// pi/2 in four parts of 53 bits.
const PIO2: [f64; 4] = [
    std::f64::consts::FRAC_PI_2,
    6.123_233_995_736_766e-17,
    -1.497_384_904_859_169_8e-33,
    5.562_271_104_316_826e-50,
];

/// `(r, j mod 4)` with `x = j pi/2 + r`, |r| <= pi/4 (|x| < 2^60).
fn reduce_pio2(x: f64) -> (DD, i64) {
    let j = (x * std::f64::consts::FRAC_2_PI).round();
    let mut r = DD::new(x);
    for p in PIO2 {
        r = r.sub(two_prod(j, p));
    }
    (r, (j as i64).rem_euclid(4))
}

fn sin_taylor(r: DD) -> DD {
    let r2 = r.mul(r);
    let mut term = r;
    let mut sum = r;
    for k in 1..=14 {
        term = term.mul(r2).div(DD::new(((2 * k) * (2 * k + 1)) as f64)).neg();
        sum = sum.add(term);
    }
    sum
}

fn cos_taylor(r: DD) -> DD {
    let r2 = r.mul(r);
    let mut term = DD::new(1.0);
    let mut sum = term;
    for k in 1..=14 {
        term = term.mul(r2).div(DD::new(((2 * k - 1) * (2 * k)) as f64)).neg();
        sum = sum.add(term);
    }
    sum
}

pub fn sin(x: f64) -> DD {
    let (r, q) = reduce_pio2(x);
    match q {
        0 => sin_taylor(r),
        1 => cos_taylor(r),
        2 => sin_taylor(r).neg(),
        _ => cos_taylor(r).neg(),
    }
}

pub fn cos(x: f64) -> DD {
    let (r, q) = reduce_pio2(x);
    match q {
        0 => cos_taylor(r),
        1 => sin_taylor(r).neg(),
        2 => cos_taylor(r).neg(),
        _ => sin_taylor(r),
    }
}

/// |x|^y for finite positive x and finite y, as v 2^e (ignores the sign).
pub fn pow_abs(x: f64, y: f64) -> Scaled {
    let l = log(x.abs());
    let t = l.mul_f(y);
    if t.hi > 760.0 {
        return Scaled { v: DD::new(f64::INFINITY), e: 0 };
    }
    if t.hi < -1200.0 {
        return Scaled { v: DD::new(0.0), e: 0 };
    }
    exp(t)
}

/// erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 5 ... (2n+1)):
/// all terms positive, so no cancellation. erf(x) rounds to ±1 beyond 6.
pub fn erf(x: f64) -> DD {
    let a = x.abs();
    if a.is_nan() {
        return DD::new(f64::NAN);
    }
    if a >= 6.0 {
        return DD::new(1.0f64.copysign(x));
    }
    if a == 0.0 {
        return DD::new(x); // keeps the sign of zero
    }
    if a < 1e-150 {
        // 2/sqrt(pi) x, the x^3 term is far below the precision.
        return TWO_OVER_SQRT_PI.mul_f(x);
    }
    let x2 = two_prod(a, a);
    let mut term = DD::new(a);
    let mut sum = term;
    let mut n = 0;
    loop {
        n += 1;
        term = term.mul(x2).mul_f(2.0).div(DD::new((2 * n + 1) as f64));
        sum = sum.add(term);
        if term.hi < sum.hi * 1e-34 {
            break;
        }
    }
    let e = exp(x2.neg());
    let r = TWO_OVER_SQRT_PI.mul(sum).mul(e.v).ldexp(e.e);
    if x < 0.0 {
        r.neg()
    } else {
        r
    }
}

const TWO_OVER_SQRT_PI: DD =
    DD { hi: std::f64::consts::FRAC_2_SQRT_PI, lo: 1.533_545_961_316_588e-17 };
