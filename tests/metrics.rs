//! Metrics against the truth (pure Rust): dictionary matching is one-to-one
//! and rectangular (`m` true atoms into `m' >= m` learner atoms), and a
//! learner with too few atoms is an error, not a silent zero.

use fsrgan::metrics::{MetricsError, atoms, dictionary_recovery};
use fsrgan::model::{Config, Params};
use fsrgan::testing::F64_ROUNDOFF;

fn tiny() -> Params {
    Params::generate(&Config::preset("tiny").unwrap(), 11).unwrap()
}

/// A learner with `m' = 6` unit atoms (a `unit` dictionary model) holding the
/// truth's 4 atoms permuted and sign-flipped plus 2 decoys: the rectangular
/// matching finds the 4 true atoms (|cos| 1 to round-off) at their places
/// and leaves the decoys out, although each decoy is closer to some true
/// atom than a random direction (|cos| 0.8 with atom 0).
#[test]
fn rectangular_matching_finds_the_true_atoms_among_extra_ones() {
    let truth = tiny();
    let mut cfg = Config::preset("tiny").unwrap();
    cfg.m = vec![6, 6];
    cfg.k = vec![0.5, 0.5];
    cfg.dictionary = fsrgan::model::Dictionary::Unit;
    let mut learner = Params::generate(&cfg.validated().unwrap(), 5).unwrap();
    let t = atoms(&truth, 0).unwrap();
    let d = t.ncols();
    // Learner atom 5 - i holds (-1)^i times true atom i; atoms 0, 1 are decoys
    // 0.8 a_0 + 0.6 a_1 and 0.6 a_2 + 0.8 a_3.
    let place = [5usize, 4, 3, 2];
    for (i, &j) in place.iter().enumerate() {
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        for k in 0..d {
            learner.out[0][[j, 0, k / 2, k % 2]] = sign * t[[i, k]];
        }
    }
    for (j, (a, b, ca, cb)) in [(0usize, (0, 1, 0.8, 0.6)), (1, (2, 3, 0.6, 0.8))] {
        for k in 0..d {
            learner.out[0][[j, 0, k / 2, k % 2]] = ca * t[[a, k]] + cb * t[[b, k]];
        }
    }
    let m = dictionary_recovery(&truth, &learner, 0).unwrap();
    assert_eq!(m.perm, place.to_vec());
    assert!(m.min > 1.0 - F64_ROUNDOFF, "min |cos| {}", m.min);
    // One matched pair per true atom; the decoys stay unmatched.
    assert_eq!(m.cos.len(), 4);
    assert!(!m.perm.contains(&0) && !m.perm.contains(&1));
}

/// `m' < m` has no one-to-one matching: an error naming the level and sizes.
#[test]
fn a_learner_with_too_few_atoms_is_an_error() {
    let truth = tiny();
    let mut cfg = Config::preset("tiny").unwrap();
    cfg.m = vec![3, 4];
    cfg.k = vec![0.5, 0.5];
    let learner = Params::generate(&cfg.validated().unwrap(), 5).unwrap();
    match dictionary_recovery(&truth, &learner, 0) {
        Err(MetricsError::TooFewAtoms {
            level: 1,
            truth: 4,
            learner: 3,
        }) => {}
        other => panic!("expected TooFewAtoms, got {other:?}"),
    }
    assert!(matches!(
        dictionary_recovery(&truth, &truth, 5),
        Err(MetricsError::NoLevel { level: 6, .. })
    ));
}
