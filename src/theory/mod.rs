//! The theory's claims T1–T8 (`../shared/spec/theory.md`), each a function
//! that computes both sides of an identity, checked by the tests and, at
//! scale, by `fsrgan verify` ([`claims`]). Derivations: [`proofs`].
//!
//! * built on [`crate::numerics`] (normal functions, quadrature, Monte Carlo
//!   estimates, orthonormalisation): [`bvn`] (bivariate normal cdf),
//!   [`reference`](mod@reference) (quadrature truths);
//! * T1–T3: [`divergence`], [`gan`];
//! * T4–T5: [`moments`], [`tensor_decomp`], [`hungarian`], [`dictionary`] (warm start of a learner's dictionary);
//! * T6: [`gauss_relu`], [`level1_fit`] (warm start of a learner's level 1); T7: [`discriminator`]; T8: [`sparse_decode`].
//!
//! Pure Rust (ndarray-linalg/OpenBLAS for dense linear algebra); no libtorch.

pub mod bvn;
pub mod claims;
pub mod dictionary;
pub mod discriminator;
pub mod divergence;
pub mod gan;
pub mod gauss_relu;
pub mod hungarian;
pub mod level1_fit;
pub mod moments;
pub mod reference;
pub mod sparse_decode;
pub mod tensor_decomp;

/// The derivations of `proofs/`, one page per claim.
pub mod proofs {
    #![doc = include_str!("../../proofs/README.md")]

    /// T1.
    #[doc = include_str!("../../proofs/T1-optimal-discriminator.md")]
    pub mod t1 {}
    /// T2.
    #[doc = include_str!("../../proofs/T2-mle-is-kl.md")]
    pub mod t2 {}
    /// T3.
    #[doc = include_str!("../../proofs/T3-generator-losses.md")]
    pub mod t3 {}
    /// T4.
    #[doc = include_str!("../../proofs/T4-moment-tensor-identity.md")]
    pub mod t4 {}
    /// T5.
    #[doc = include_str!("../../proofs/T5-dictionary-recovery.md")]
    pub mod t5 {}
    /// T6.
    #[doc = include_str!("../../proofs/T6-gaussian-relu.md")]
    pub mod t6 {}
    /// T7.
    #[doc = include_str!("../../proofs/T7-linear-discriminator.md")]
    pub mod t7 {}
    /// T8.
    #[doc = include_str!("../../proofs/T8-sparse-decoding.md")]
    pub mod t8 {}
}
