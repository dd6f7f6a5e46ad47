"""`fsrgan.theory` against independent computations: Python's `math.erfc`
(the C library's), closed forms written here, and NumPy Gauss-Legendre
quadrature of the defining integrals. Each oracle's error budget is stated
where its tolerance is set; a wrong input fails the same comparison."""

import json
import math

import numpy as np
import pytest

import fsrgan
from fsrgan import theory as th

SQ2 = math.sqrt(2.0)


def Phi(t):
    return 0.5 * math.erfc(-t / SQ2)


def Q(t):
    return 0.5 * math.erfc(t / SQ2)


def phi(t):
    return math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)


def integrate(f, a, b, width=0.25, order=30):
    """Composite Gauss-Legendre of a vectorised f on [a, b]: panels of `width`,
    `order` points each. For the smooth integrands below (polynomial x Gaussian,
    at most one kink placed on a panel edge) the rule's error is below 1e-16
    relative per panel; the sum's rounding is ~1e-16 x sqrt(panels)."""
    x, w = np.polynomial.legendre.leggauss(order)
    n = max(1, int(math.ceil((b - a) / width)))
    edges = np.linspace(a, b, n + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    xs = 0.5 * (hi - lo) * x[None, :] + 0.5 * (hi + lo)
    return float(np.sum(0.5 * (hi - lo) * w[None, :] * f(xs)))


erfc = np.vectorize(math.erfc)


def approx(x, rel=0.0, abs=0.0):
    """pytest.approx without its default absolute tolerance of 1e-12 (the values
    here go down to 1e-300)."""
    return pytest.approx(x, rel=rel, abs=abs)


def npphi(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def npQ(x):
    return 0.5 * erfc(x / SQ2)


# ---------------------------------------------------------------- normal


@pytest.mark.parametrize("t", [-8.0, -2.5, -0.3, 0.0, 0.7, 3.0, 8.0])
def test_phi_Phi_q_match_libc_erfc(t):
    # libm (Rust) and the C library each have <= 2 ulp error in erfc; the
    # products add a few ulp: 1e-14 relative.
    assert th.phi(t) == approx(phi(t), rel=1e-14)
    assert th.Phi(t) == approx(Phi(t), rel=1e-14)
    assert th.q(t) == approx(Q(t), rel=1e-14)
    # Power: a point 1e-6 away fails (on the side where the tail is small).
    small, f = (th.q(t), Q) if t > 0 else (th.Phi(t), Phi)
    assert small != approx(f(t + 1e-6), rel=1e-14)


@pytest.mark.parametrize("t", [-3.0, 0.0, 1.5, 10.0, 29.0])
def test_mills_ratio_below_30_matches_erfc(t):
    assert th.mills(t) == approx(Q(t) / phi(t), rel=1e-13)


@pytest.mark.parametrize("t", [30.0, 31.0, 45.0, 100.0, 1e4])
def test_mills_ratio_beyond_30_matches_asymptotic_series(t):
    # R(t) = (1/t) sum_k (-1)^k (2k-1)!! / t^(2k); truncated after k = 7, the
    # error is below the next term, 15!!/t^16 < 3e-19 relative at t = 30.
    s, term = 0.0, 1.0
    for k in range(8):
        s += term
        term *= -(2 * k + 1) / (t * t)
    assert th.mills(t) == approx(s / t, rel=1e-14)


@pytest.mark.parametrize("p", [1e-300, 1e-100, 1e-20, 1e-5, 0.02, 0.0243, 0.3, 0.5])
def test_Phi_inv_inverts_libc_Phi(p):
    # Phi(x) has condition number |x phi(x) / Phi(x)| <= x^2 + 1 ~ 1400 at
    # p = 1e-300: relative error 1e-16 in x becomes 1.4e-13 in p.
    x = th.Phi_inv(p)
    assert Phi(x) == approx(p, rel=2e-13)
    assert th.q_inv(p) == -x
    assert Phi(x + 1e-9 * (1 + abs(x))) != approx(p, rel=2e-13)  # power


def test_Phi_inv_edges():
    assert th.Phi_inv(0.0) == -math.inf and th.Phi_inv(1.0) == math.inf
    assert math.isnan(th.Phi_inv(1.5)) and math.isnan(th.Phi_inv(-0.1))


@pytest.mark.parametrize("t", [-37.0, -35.0, -30.5, -29.5, -5.0, 0.0, 3.0])
def test_log_Phi_matches_libc_down_to_where_Phi_underflows(t):
    # Phi(-37) = 5.7e-300 is still a normal double: log of the libc value is an
    # oracle on both sides of the implementation's switch at t = -30.
    assert th.log_Phi(t) == approx(math.log(Phi(t)), rel=1e-14, abs=1e-15)


def test_log_Phi_where_Phi_underflows():
    # log Phi(t) = -t^2/2 - log(-t) - log(2 pi)/2 + log(1 - 1/t^2 + 3/t^4 - ...).
    t = -1e3
    s = 1 - 1 / t**2 + 3 / t**4 - 15 / t**6
    assert th.log_Phi(t) == approx(-0.5 * t * t - math.log(-t) - 0.5 * math.log(2 * math.pi) + math.log(s), rel=1e-15)


# ---------------------------------------------------------------- Phi2


def phi2_quadrature(a, b, rho):
    """P(X <= a, Y <= b) = int_{-inf}^a phi(x) Phi((b - rho x)/s) dx, the mass
    below -12 (< 2e-33) dropped; the step of Phi((b - rho x)/s) at x = b/rho
    is a panel edge."""
    s = math.sqrt((1 - rho) * (1 + rho))
    lo = -12.0
    f = lambda x: npphi(x) * 0.5 * erfc(-((b - rho * x) / s) / SQ2)
    cuts = [lo, a]
    if rho != 0 and lo < b / rho < a:
        cuts = [lo, b / rho, a]
    return sum(integrate(f, u, v, width=0.05 if abs(rho) > 0.9 else 0.25) for u, v in zip(cuts, cuts[1:]))


PHI2_CASES = [
    (a, b, rho)
    for a in (-3.0, -0.7, 0.0, 0.4, 2.5)
    for b in (-1.2, 0.0, 1.9)
    for rho in (-0.99, -0.6, 0.0, 0.3, 0.9, 0.93, 0.999)
]


@pytest.mark.parametrize("a,b,rho", PHI2_CASES)
def test_Phi2_matches_quadrature(a, b, rho):
    # Oracle: quadrature error < 1e-15 plus erfc's ~1e-16 relative per node;
    # the claimed accuracy of Genz's method is ~1e-15: 1e-14 absolute.
    want = phi2_quadrature(a, b, rho)
    assert th.Phi2(a, b, rho) == approx(want, abs=1e-14)
    if rho != 0 and abs(phi2_quadrature(a, b, -rho) - want) > 1e-12:
        assert th.Phi2(a, b, -rho) != approx(want, abs=1e-14)  # power


def test_Phi2_limits():
    assert th.Phi2(0.3, 0.8, 1.0) == approx(Phi(0.3), abs=1e-15)
    assert th.Phi2(0.3, 0.8, -1.0) == approx(max(0.0, Phi(0.3) + Phi(0.8) - 1), abs=1e-15)
    assert th.Phi2(0.3, 0.8, 0.0) == approx(Phi(0.3) * Phi(0.8), rel=1e-15)
    # A correlation outside [-1, 1], or a NaN limit, is refused, not NaN.
    for bad in [(0.0, 0.0, 1.5), (0.0, 0.0, -1.0000001), (0.0, 0.0, math.nan), (math.nan, 0.0, 0.5)]:
        with pytest.raises(fsrgan.TheoryError, match="`rho`|`a`"):
            th.Phi2(*bad)
    assert th.Phi2(math.inf, 0.8, 0.5) == approx(Phi(0.8), abs=1e-15)


# ---------------------------------------------------------------- Gaussian-ReLU


def relu_moment_quadrature(t, k):
    """I_k(t) = int_0^40 u^k phi(t + u) du (the tail beyond 40 is < 1e-300 relative)."""
    return integrate(lambda u: u**k * npphi(t + u), 0.0, 40.0, width=0.1 if t > 3 else 0.25)


@pytest.mark.parametrize("t", [-3.0, -1.0, 0.0, 0.5, 1.99, 2.01, 3.0, 5.0, 10.0, 20.0])
def test_relu_moments_match_quadrature(t):
    # Positive integrand, no cancellation: the oracle is good to ~1e-15
    # relative; the forward recursion (t <= 2) costs < 1e-12 (numerics.md).
    got = th.relu_moments(t, 6)
    assert len(got) == 7
    for k, g in enumerate(got):
        assert g == approx(relu_moment_quadrature(t, k), rel=2e-12), k
    assert got[3] != approx(relu_moment_quadrature(t + 1e-3, 3), rel=2e-12)  # power


@pytest.mark.parametrize("alpha,beta,c", [(1.0, 0.0, 1), (0.8, 1.2, 2), (1.2, -0.5, 3), (2.0, 5.0, 4)])
def test_relu_moment_is_E_relu_power(alpha, beta, c):
    # E[ReLU(alpha g - beta)^c] = int_{beta/alpha}^inf (alpha g - beta)^c phi(g) dg.
    t = beta / alpha
    want = integrate(lambda g: (alpha * g - beta) ** c * npphi(g), t, t + 40.0)
    assert th.relu_moment(alpha, beta, c) == approx(want, rel=2e-12)


def cross_moment_quadrature(a, b, rho):
    """F(a, b, rho) = int_a^inf (x - a) phi(x) E[(Y - b)_+ | X = x] dx, with
    Y | X = x ~ N(rho x, s^2): E[(Y - b)_+] = s (phi(u) - u Q(u)), u = (b - rho x)/s;
    at |rho| = 1, Y = rho X and E[(Y - b)_+ | x] = (rho x - b)_+ (a kink,
    placed on a panel edge)."""
    s = math.sqrt(max(0.0, (1 - rho) * (1 + rho)))
    if s == 0.0:
        inner = lambda x: np.maximum(rho * x - b, 0.0)
    else:

        def inner(x):
            u = (b - rho * x) / s
            return s * (npphi(u) - u * npQ(u))

    f = lambda x: (x - a) * npphi(x) * inner(x)
    hi = max(a, 0.0) + 40.0
    cuts = [a, hi]
    if s == 0.0 and a < b / rho < hi:
        cuts = [a, b / rho, hi]
    return sum(integrate(f, u, v) for u, v in zip(cuts, cuts[1:]))


@pytest.mark.parametrize(
    "a,b,rho",
    [(0.0, 0.0, 0.0), (0.5, -0.3, 0.4), (-1.0, 1.2, -0.7), (1.5, 1.5, 0.95), (0.2, 0.9, -0.999), (0.3, -0.4, 1.0), (-0.5, -0.2, -1.0), (0.7, 0.1, -1.0)],
)
def test_cross_moment_matches_quadrature(a, b, rho):
    # Oracle error ~1e-15 relative (smooth integrand, erfc to 1e-16). The
    # closed form adds O(1) terms, so its accuracy is absolute, ~1e-16 of
    # them: where F is a deep-tail remainder (a=0.2, b=0.9, rho=-0.999:
    # F = 1.5e-142) it returns ~4e-137. Hence rel 1e-12 or abs 1e-15.
    want = cross_moment_quadrature(a, b, rho)
    assert th.cross_moment(a, b, rho) == approx(want, rel=1e-12, abs=1e-15)
    if abs(rho) < 1 and want > 1e-6:
        assert th.cross_moment(a, b, rho + 0.001) != approx(want, rel=1e-12, abs=1e-15)  # power


def test_moment_ratio():
    for t in (-2.0, 0.0, 1.0, 4.0):
        i1, i2 = relu_moment_quadrature(t, 1), relu_moment_quadrature(t, 2)
        assert th.moment_ratio(t) == approx(i2 / i1**2, rel=1e-11)


@pytest.mark.parametrize("alpha,beta", [(1.1, 0.7), (0.8, -0.3), (1.0, 2.5), (1.2, 0.0)])
def test_alpha_beta_inversion_recovers_the_truth(alpha, beta):
    # Moments by quadrature (rel. error ~1e-15); the inversion is well
    # conditioned here (|t| <= 2.5), so 1e-9 is a loose budget.
    m1 = integrate(lambda g: np.maximum(alpha * g - beta, 0) * npphi(g), beta / alpha, beta / alpha + 40)
    m2 = integrate(lambda g: np.maximum(alpha * g - beta, 0) ** 2 * npphi(g), beta / alpha, beta / alpha + 40)
    a, b = th.alpha_beta_from_moments(m1, m2)
    assert a == approx(alpha, rel=1e-9) and b == approx(beta, rel=1e-9, abs=1e-9)
    a2, _ = th.alpha_beta_from_moments(m1, m2 * 1.001)  # power: a wrong moment moves alpha
    assert a2 != approx(alpha, rel=1e-9)


@pytest.mark.parametrize("rho", [-0.8, -0.2, 0.0, 0.35, 0.9])
def test_rho_inversion_recovers_the_truth(rho):
    (ai, ti), (aj, tj) = (1.1, 0.4), (0.9, -0.2)
    m12 = ai * aj * cross_moment_quadrature(ti, tj, rho)
    assert th.rho_from_cross_moment(m12, (ai, ti), (aj, tj)) == approx(rho, abs=1e-9)


def test_estimators_cover_the_truth_within_5_standard_errors():
    """Monte Carlo: z = 5 bounds (the project's convention), fixed seed."""
    rng = np.random.default_rng(20261202)
    n, rho = 200_000, 0.45
    g = rng.standard_normal((n, 2))
    g[:, 1] = rho * g[:, 0] + math.sqrt(1 - rho * rho) * g[:, 1]
    (ai, bi), (aj, bj) = (1.1, 0.5), (0.9, -0.2)
    yi, yj = np.maximum(ai * g[:, 0] - bi, 0), np.maximum(aj * g[:, 1] - bj, 0)
    (a, sa), (b, sb) = th.estimate_alpha_beta(yi)
    assert abs(a - ai) <= 5 * sa and abs(b - bi) <= 5 * sb
    assert 0 < sa < 0.01 and 0 < sb < 0.01
    r, sr = th.estimate_rho(yi, yj)
    assert abs(r - rho) <= 5 * sr and 0 < sr < 0.01
    r_wrong, _ = th.estimate_rho(yi, rng.permutation(yj))  # power: independent pairs
    assert abs(r_wrong - rho) > 5 * sr


# ---------------------------------------------------------------- divergences


P = np.array([0.1, 0.2, 0.3, 0.4])
QV = np.array([0.25, 0.25, 0.4, 0.1])
XS = np.array([-1.0, 0.5, 0.7, 3.0])


def test_discrete_divergences_match_numpy():
    # Sums of four terms: a few ulp each.
    kl = float(np.sum(P * np.log(P / QV)))
    m = (P + QV) / 2
    js = 0.5 * float(np.sum(P * np.log(P / m))) + 0.5 * float(np.sum(QV * np.log(QV / m)))
    assert th.kl(P, QV) == approx(kl, rel=1e-13)
    assert th.kl(list(P), list(QV)) == th.kl(P, QV)
    assert th.js(P, QV) == approx(js, rel=1e-13)
    assert th.tv(P, QV) == approx(0.5 * float(np.sum(np.abs(P - QV))), rel=1e-15)
    assert th.hellinger(P, QV) == approx(math.sqrt(0.5 * float(np.sum((np.sqrt(P) - np.sqrt(QV)) ** 2))), rel=1e-14)
    w1 = float(np.sum(np.abs(np.cumsum(P) - np.cumsum(QV))[:-1] * np.diff(XS)))
    assert th.w1_discrete(XS, P, QV) == approx(w1, rel=1e-14)
    assert th.kl(P, QV) != approx(float(np.sum(QV * np.log(QV / P))), rel=1e-13)  # power: KL is not symmetric
    assert th.kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert th.kl(np.array([0.5, 0.5], dtype=np.float32), [0.5, 0.5]) == 0.0


@pytest.mark.parametrize("m1,s1,m2,s2", [(0.0, 1.0, 0.0, 1.0), (0.3, 1.0, -0.5, 1.0), (1.0, 0.5, -1.0, 2.0), (0.0, 1.0, 0.0, 1.0 + 1e-6)])
def test_gaussian_closed_forms_match_quadrature(m1, s1, m2, s2):
    lp = lambda x: -0.5 * ((x - m1) / s1) ** 2 - math.log(s1) - 0.5 * math.log(2 * math.pi)
    lq = lambda x: -0.5 * ((x - m2) / s2) ** 2 - math.log(s2) - 0.5 * math.log(2 * math.pi)
    lo, hi = min(m1, m2) - 40 * max(s1, s2), max(m1, m2) + 40 * max(s1, s2)
    kl = integrate(lambda x: np.exp(lp(x)) * (lp(x) - lq(x)), lo, hi, width=0.05)
    h2 = integrate(lambda x: 0.5 * (np.exp(0.5 * lp(x)) - np.exp(0.5 * lq(x))) ** 2, lo, hi, width=0.05)
    # Quadrature of a smooth integrand: ~1e-16 absolute per unit of mass,
    # relative accuracy limited where the values are ~1e-13 (the last case).
    assert th.kl_gaussian(m1, s1, m2, s2) == approx(kl, rel=1e-10, abs=1e-15)
    assert th.hellinger2_gaussian(m1, s1, m2, s2) == approx(h2, rel=1e-10, abs=1e-15)
    if s1 == s2:
        tv = integrate(lambda x: 0.5 * np.abs(np.exp(lp(x)) - np.exp(lq(x))), lo, hi, width=0.05) if m1 == m2 else 2 * Phi(abs(m1 - m2) / (2 * s1)) - 1
        assert th.tv_gaussian_equal_var(m1, m2, s1) == approx(tv, rel=1e-13, abs=1e-15)


def test_T1_identity_by_hand():
    v, rhs = th.jsd_identity_discrete(P, QV)
    js = th.js(P, QV)
    assert rhs == approx(-math.log(4) + 2 * js, rel=1e-15)
    assert v == approx(rhs, rel=1e-13)  # V(G, D*) = -log 4 + 2 JS
    logit = th.d_star_logit_discrete(P, QV)
    assert np.allclose(logit, np.log(P / QV), rtol=1e-15)
    dstar = P / (P + QV)
    assert th.value_discrete(P, QV, logit) == approx(float(np.sum(P * np.log(dstar) + QV * np.log(1 - dstar))), rel=1e-13)
    # Any other discriminator does worse (D* is the maximiser).
    assert th.value_discrete(P, QV, np.array(logit) + 0.1) < v


# ---------------------------------------------------------------- verify


def test_verify_records_equal_the_cli_json(cli):
    out = cli("verify", "--claim", "T1", "--claim", "T6", "--samples", 20000, "--seed", 3, "--json")
    want = json.loads(out.stdout)
    got = fsrgan.verify(["T1", "t6"], samples=20000, seed=3)
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        assert set(g) == set(w)
        for k in w:
            if k != "secs":
                assert g[k] == w[k], (k, g, w)
        assert g["secs"] >= 0
    assert all(r["pass"] for r in got)
    assert {r["claim"] for r in got} == {"T1", "T6"}
    assert {r["relation"] for r in got} <= {"within", "at_most", "at_least"}
