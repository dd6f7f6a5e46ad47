//! The theory's claims T1–T8 (`../shared/spec/theory.md`), each a function that
//! computes both sides of an identity.
pub mod bvn;
pub mod claims;
pub mod discriminator;
pub mod divergence;
pub mod gan;
pub mod gauss_relu;
pub mod hungarian;
pub mod moments;
pub mod montecarlo;
pub mod normal;
pub mod quadrature;
pub mod reference;
pub mod sparse_decode;
pub mod tensor_decomp;
