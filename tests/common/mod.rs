//! Helpers shared by the integration tests.
#![allow(dead_code)]

use ndarray::{ArrayView4, Axis};

/// Bitwise equality of two f64 arrays (distinguishes -0.0 and NaN payloads).
pub fn same_bits(a: ArrayView4<'_, f64>, b: ArrayView4<'_, f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Concatenates arrays along axis 0.
pub fn concat(parts: &[ArrayView4<'_, f64>]) -> ndarray::Array4<f64> {
    ndarray::concatenate(Axis(0), parts).expect("same trailing shapes")
}

/// The repository's Python with numpy and torch, if set up.
pub fn python() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    p.exists().then_some(p)
}

/// `tiny` at 20/10/10 steps with small batches and evaluations: a complete
/// theory-track run in seconds on one core (the docs test's reduced
/// `train --preset tiny`, the newcomer tests).
pub const FAST_TINY: &str = r#"
preset = "tiny"
batch = 512
eval_batch = 256
final_eval = 1024
real_samples = 4096
metrics_every = 10
checkpoint_every = 10
[dictionary]
steps = 20
[level1]
steps = 10
[superres]
steps = 10
candidates = 1
"#;

/// `field: rule` of an invalid-config error (panics on any other error).
#[cfg(feature = "torch")]
pub fn field_of(e: fsrgan::train::TrainError) -> String {
    match e {
        fsrgan::train::TrainError::InvalidConfig { field, rule } => format!("{field}: {rule}"),
        other => panic!("expected InvalidConfig, got {other}"),
    }
}
