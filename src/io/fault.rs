//! Named fault points, for the tests that kill a process at every step of a
//! multi-file write: when the environment variable [`FAULT_VAR`] equals a
//! point's name, the process aborts there (`SIGABRT`: no destructor runs,
//! as under `kill -9`). Unset, a point costs one environment lookup.

/// The environment variable naming the point to abort at.
pub const FAULT_VAR: &str = "FSRGAN_FAULT";

/// The points of a dataset write, in the order they are passed.
pub const DATASET_POINTS: &[&str] = &[
    "staging-created",
    "chunk-written",
    "params-written",
    "samples-written",
    "manifest-written",
    "old-moved-aside",
    "new-in-place",
    "old-removed",
];

/// Aborts the process if [`FAULT_VAR`] is `name`.
pub fn point(name: &str) {
    if std::env::var_os(FAULT_VAR).is_some_and(|v| v == name) {
        eprintln!("fsrgan: {FAULT_VAR}={name}: aborting here");
        std::process::abort();
    }
}
