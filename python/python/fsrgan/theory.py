"""The functions of ``fsrgan::theory`` a reader checks by hand, each the Rust
function itself; ``help(fsrgan.theory.NAME)`` states its formula.

* normal: ``phi``, ``Phi``, ``q`` (upper tail ``Q``), ``mills``, ``Phi_inv``,
  ``q_inv``, ``log_Phi``; bivariate normal cdf ``Phi2``;
* Gaussian-ReLU moments (claim T6): ``relu_moments``, ``relu_moment``,
  ``cross_moment``, ``moment_ratio``; the inversions
  ``alpha_beta_from_moments``, ``rho_from_cross_moment``,
  ``estimate_alpha_beta``, ``estimate_rho``;
* divergences (nats): ``kl``, ``js``, ``tv``, ``hellinger``, ``w1_discrete``,
  ``kl_gaussian``, ``hellinger2_gaussian``, ``tv_gaussian_equal_var``;
* claim T1: ``value_discrete``, ``d_star_logit_discrete``,
  ``jsd_identity_discrete``.
"""

from . import _native as _n
from ._argnames import named as _named

__all__ = [str(name) for name in _n.theory.__all__]
# Each the Rust function, with a wrong-typed argument's TypeError naming it.
globals().update({name: _named(getattr(_n.theory, name)) for name in __all__})
del _n
