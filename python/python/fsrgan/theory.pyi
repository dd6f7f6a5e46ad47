"""Type stubs of ``fsrgan.theory``; ``help(fsrgan.theory.NAME)`` states each formula."""

from collections.abc import Sequence
from typing import Union

import numpy as np
import numpy.typing as npt

Vector = Union[Sequence[float], npt.NDArray[np.floating]]

def phi(t: float) -> float:
    """``phi(t) = exp(-t^2/2) / sqrt(2 pi)``."""
def Phi(t: float) -> float:
    """``Phi(t) = erfc(-t / sqrt 2) / 2``."""
def q(t: float) -> float:
    """``Q(t) = 1 - Phi(t) = erfc(t / sqrt 2) / 2``."""
def mills(t: float) -> float:
    """``R(t) = Q(t) / phi(t)``."""
def Phi_inv(p: float) -> float:
    """``Phi^{-1}(p)``."""
def q_inv(p: float) -> float:
    """``Q^{-1}(p) = -Phi^{-1}(p)``."""
def log_Phi(t: float) -> float:
    """``log Phi(t)``, also where ``Phi(t)`` underflows."""
def Phi2(a: float, b: float, rho: float) -> float:
    """``P(X <= a, Y <= b)``, standard normals with correlation ``rho``."""
def relu_moments(t: float, k: int) -> list[float]:
    """``[I_0(t), ..., I_k(t)]``, ``I_j(t) = E[(g - t)_+^j]``."""
def relu_moment(alpha: float, beta: float, c: int) -> float:
    """``E[ReLU(alpha g - beta)^c] = alpha^c I_c(beta / alpha)``."""
def cross_moment(a: float, b: float, rho: float) -> float:
    """``F(a, b, rho) = E[(X - a)_+ (Y - b)_+]``."""
def moment_ratio(t: float) -> float:
    """``r(t) = I_2(t) / I_1(t)^2``."""
def alpha_beta_from_moments(m1: float, m2: float) -> tuple[float, float]:
    """``(alpha, beta)`` from ``(E[y], E[y^2])`` of ``y = ReLU(alpha g - beta)``."""
def rho_from_cross_moment(m12: float, i: tuple[float, float], j: tuple[float, float]) -> float:
    """``rho`` with ``alpha_i alpha_j F(t_i, t_j, rho) = m12``; ``i = (alpha_i, t_i)``."""
def estimate_alpha_beta(y: Vector) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((alpha, se), (beta, se))`` from samples of ``y``."""
def estimate_rho(yi: Vector, yj: Vector) -> tuple[float, float]:
    """``(rho, se)`` from pairs of Gaussian-ReLU samples."""
def kl(p: Vector, q: Vector) -> float:
    """``KL(p || q) = sum p log(p / q)``."""
def js(p: Vector, q: Vector) -> float:
    """``JS(p || q) = KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2``."""
def tv(p: Vector, q: Vector) -> float:
    """``sum |p - q| / 2``."""
def hellinger(p: Vector, q: Vector) -> float:
    """``sqrt(sum (sqrt p - sqrt q)^2 / 2)``."""
def w1_discrete(xs: Vector, p: Vector, q: Vector) -> float:
    """``sum |F_p(x_i) - F_q(x_i)| (x_{i+1} - x_i)``."""
def kl_gaussian(m1: float, s1: float, m2: float, s2: float) -> float:
    """``KL(N(m1, s1^2) || N(m2, s2^2))``."""
def hellinger2_gaussian(m1: float, s1: float, m2: float, s2: float) -> float:
    """Squared Hellinger distance of two Gaussians."""
def tv_gaussian_equal_var(m1: float, m2: float, sd: float) -> float:
    """``2 Phi(|m1 - m2| / (2 sd)) - 1``."""
def value_discrete(p: Vector, q: Vector, logit: Vector) -> float:
    """``V(G, D) = sum p log D + q log(1 - D)``, ``D = sigma(logit)``."""
def d_star_logit_discrete(p: Vector, q: Vector) -> list[float]:
    """``log(p_i / q_i)``, the logit of ``D* = p / (p + q)``."""
def jsd_identity_discrete(p: Vector, q: Vector) -> tuple[float, float]:
    """``(V(G, D*), -log 4 + 2 JS(p || q))``."""
