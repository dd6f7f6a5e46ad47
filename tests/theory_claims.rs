//! The checks of `fsrgan verify` (T1–T8, `fsrgan::theory::claims`), run here
//! at test size through the same harness. They compare each claim's two sides
//! against the same truths as the command (closed forms, quadrature, the
//! known generator); the other `theory_*` tests compare the library with
//! further independent truths and show that wrong inputs fail.

use fsrgan::testing::F64_FEW_OPS;
use fsrgan::theory::claims::{self, Check, Options, Relation, failures};

/// Runs claim `id` at `samples` and checks that every one of its `expected`
/// checks is present and holds.
fn holds(id: &str, samples: usize, seed: u64, expected: usize) -> Vec<Check> {
    let claim = claims::claims()
        .into_iter()
        .find(|c| c.id == id)
        .expect("claim registered");
    let checks = claims::run_claim(&claim, &Options { samples, seed });
    // A claim whose computation failed drops its check: count them.
    assert_eq!(checks.len(), expected, "{id}: {checks:#?}");
    assert!(checks.iter().all(|c| c.claim == id));
    let bad = failures(&checks);
    assert!(
        bad.is_empty(),
        "{id} failed at test size:\n{}",
        bad.join("\n")
    );
    checks
}

#[test]
fn the_registry_lists_t1_to_t8_in_order() {
    let ids: Vec<&str> = claims::claims().iter().map(|c| c.id).collect();
    assert_eq!(ids, ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"]);
}

#[test]
fn the_harness_reports_what_fails() {
    // Wrong inputs: each relation rejects a violating pair.
    let c = Check::new("T0", "within", 1.0, 1.5, Relation::Within, 0.4);
    assert!(!c.pass && (c.diff - 0.5).abs() < F64_FEW_OPS);
    assert!(Check::new("T0", "within", 1.0, 1.3, Relation::Within, 0.4).pass);
    assert!(!Check::new("T0", "at most", 2.0, 1.0, Relation::AtMost, 0.0).pass);
    assert!(!Check::new("T0", "at least", 0.5, 1.0, Relation::AtLeast, 0.0).pass);
    let bad = failures(&[c, Check::new("T0", "ok", 1.0, 1.0, Relation::Within, 0.0)]);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with("T0 within"), "{bad:?}");
}

#[test]
fn t1_verify_checks_hold_at_test_size() {
    holds("T1", 20_000, 3, 4);
}

#[test]
fn t2_verify_checks_hold_at_test_size() {
    holds("T2", 20_000, 3, 2);
}

#[test]
fn t3_verify_checks_hold_at_test_size() {
    holds("T3", 1, 3, 8);
}

#[test]
fn t4_verify_checks_hold_at_test_size() {
    holds("T4", 1000, 3, 3);
}

#[test]
fn t5_verify_checks_hold_at_test_size() {
    // Recovery needs about 10^5 samples at d = 48, m = 32 (what verify uses).
    holds("T5", 100_000, 1, 3);
}

#[test]
fn t6_verify_checks_hold_at_test_size() {
    holds("T6", 20_000, 3, 5);
}

#[test]
fn t7_verify_checks_hold_at_test_size() {
    holds("T7", 20_000, 3, 2);
}

#[test]
fn t8_verify_checks_hold_at_test_size() {
    holds("T8", 100_000, 3, 5);
}
