//! Agreement of a clustering (or a conditional generator's labels) with the
//! true classes of a labelled mixture ([`crate::model::Labelled`]).
//!
//! * [`adjusted_rand_index`]: Hubert & Arabie's (1985) adjusted Rand index.
//!   With the contingency table `n_ij = |{s : a_s = i, b_s = j}|`, row sums
//!   `a_i`, column sums `b_j` and `C(m) = m (m - 1) / 2`,
//!
//!   `ARI = (sum_ij C(n_ij) - E) / ((sum_i C(a_i) + sum_j C(b_j)) / 2 - E)`,
//!   `E = sum_i C(a_i) sum_j C(b_j) / C(n)`:
//!
//!   1 for identical partitions (up to renaming), 0 in expectation for a
//!   random assignment with the same cluster sizes ([`ARI_CHANCE`]), and
//!   possibly negative. When the denominator is 0 (both partitions put every
//!   sample in one cluster, or both make every sample its own cluster, or
//!   `n < 2`) the partitions are identical and the index is 1, as in
//!   scikit-learn.
//! * [`purity`]: `(1/n) sum_clusters max_class |cluster ∩ class|`, in
//!   `[max_j b_j / n, 1]`; its chance level depends on the cluster sizes:
//!   [`purity_chance`] estimates it by a seeded permutation average.

use std::collections::HashMap;

use crate::model::rng::{Domain, Stream, derive_seed};

/// The expectation of [`adjusted_rand_index`] for a uniformly random
/// assignment with the same cluster sizes: 0 by construction.
pub const ARI_CHANCE: f64 = 0.0;

/// `C(m) = m (m - 1) / 2`, the number of pairs among `m` (exact).
fn pairs(m: u64) -> u128 {
    u128::from(m) * u128::from(m.saturating_sub(1)) / 2
}

/// The contingency table of two labellings of the same samples.
struct Table {
    /// `n_ij` by `(i, j)`.
    cells: HashMap<(usize, usize), u64>,
    /// Row sums `a_i`.
    rows: HashMap<usize, u64>,
    /// Column sums `b_j`.
    cols: HashMap<usize, u64>,
}

impl Table {
    #[track_caller]
    fn new(a: &[usize], b: &[usize]) -> Table {
        assert_eq!(
            a.len(),
            b.len(),
            "two labellings of the same samples must have the same length"
        );
        let mut t = Table {
            cells: HashMap::new(),
            rows: HashMap::new(),
            cols: HashMap::new(),
        };
        for (&i, &j) in a.iter().zip(b) {
            *t.cells.entry((i, j)).or_insert(0) += 1;
            *t.rows.entry(i).or_insert(0) += 1;
            *t.cols.entry(j).or_insert(0) += 1;
        }
        t
    }
}

/// Hubert & Arabie's adjusted Rand index of two labellings of the same
/// samples (module docs for the formula); symmetric in `a` and `b`, blind
/// to renaming the labels. Pair counts are exact integers; the final
/// ratio is computed in float64.
///
/// # Panics
/// If the lengths differ (a programmer error: they label the same samples).
#[track_caller]
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let t = Table::new(a, b);
    let index: u128 = t.cells.values().map(|&m| pairs(m)).sum();
    let sa: u128 = t.rows.values().map(|&m| pairs(m)).sum();
    let sb: u128 = t.cols.values().map(|&m| pairs(m)).sum();
    let total = pairs(a.len() as u64);
    // max - E = (sa + sb)/2 - sa sb / total >= 0, with equality exactly when
    // sa = sb in {0, total}: both partitions trivial in the same way.
    if total == 0 || (sa == sb && (sa == 0 || sa == total)) {
        return 1.0;
    }
    let (index, sa, sb, total) = (index as f64, sa as f64, sb as f64, total as f64);
    let expected = sa * sb / total;
    let max = (sa + sb) / 2.0;
    (index - expected) / (max - expected)
}

/// Purity of the clusters `pred` against the classes `truth`:
/// `(1/n) sum_c max_k |{s : pred_s = c, truth_s = k}|` (1 for an empty input).
///
/// # Panics
/// If the lengths differ (a programmer error).
#[track_caller]
pub fn purity(pred: &[usize], truth: &[usize]) -> f64 {
    if pred.is_empty() {
        assert!(
            truth.is_empty(),
            "two labellings of the same samples must have the same length"
        );
        return 1.0;
    }
    let t = Table::new(pred, truth);
    let mut best: HashMap<usize, u64> = HashMap::new();
    for (&(c, _), &m) in &t.cells {
        let e = best.entry(c).or_insert(0);
        *e = (*e).max(m);
    }
    best.values().sum::<u64>() as f64 / pred.len() as f64
}

/// The tag of [`purity_chance`]'s permutation streams in [`derive_seed`].
pub const PURITY_CHANCE: u64 = 0x7075_7269_7479;

/// The chance level of [`purity`]: the expected purity of a uniformly
/// random assignment of the samples to clusters of `pred`'s sizes, i.e.
/// `E_pi purity(pred ∘ pi, truth)` over uniform permutations `pi`,
/// estimated by the average over `permutations` of them (Fisher–Yates with
/// the stream `(derive_seed(seed, [PURITY_CHANCE]), Samples, r)` for
/// permutation `r`), so its standard error is about `sd / sqrt(permutations)`.
/// Exact in the two cases where purity does not depend on the
/// permutation: one cluster (the largest class's share) and all singletons (1).
///
/// # Panics
/// If the lengths differ (a programmer error).
#[track_caller]
pub fn purity_chance(pred: &[usize], truth: &[usize], permutations: usize, seed: u64) -> f64 {
    assert_eq!(
        pred.len(),
        truth.len(),
        "two labellings of the same samples must have the same length"
    );
    let key = derive_seed(seed, &[PURITY_CHANCE]);
    let mut shuffled = pred.to_vec();
    let reps = permutations.max(1);
    let mut sum = 0.0;
    for r in 0..reps {
        let mut st = Stream::new(key, Domain::Samples, r as u64);
        for i in (1..shuffled.len()).rev() {
            let j = ((st.uniform() * (i + 1) as f64) as usize).min(i);
            shuffled.swap(i, j);
        }
        sum += purity(&shuffled, truth);
    }
    sum / reps as f64
}
