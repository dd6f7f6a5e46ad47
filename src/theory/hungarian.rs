//! Optimal assignment (Hungarian method, Kuhn–Munkres with potentials,
//! `O(n^2 m)`), and dictionary recovery scored modulo sign and permutation:
//! columns of a learned dictionary are matched one-to-one to the true atoms
//! maximising `sum |cos|`; the score is the min and mean matched `|cos|`.
//! See `proofs/T5-dictionary-recovery.md`.

/// The assignment `row -> column` minimising `sum cost[row][col]` over
/// injective maps, for `rows <= cols` (an empty result for no rows).
///
/// # Panics
/// If the rows have different lengths or `rows > cols` (programmer errors).
#[track_caller]
pub fn assignment(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    let m = cost[0].len();
    assert!(cost.iter().all(|r| r.len() == m), "ragged cost matrix");
    assert!(n <= m, "assignment needs rows <= cols, got {n} > {m}");
    // 1-based arrays, column 0 is a virtual start.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1]; // p[col] = row matched to col
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    out
}

/// Result of matching true atoms to learned columns on `|cos|`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Matching {
    /// `perm[i]` = the learned column matched to true atom `i`.
    pub perm: Vec<usize>,
    /// `|cos|` of each matched pair.
    pub cos: Vec<f64>,
    /// Minimum matched `|cos|`.
    pub min: f64,
    /// Mean matched `|cos|`.
    pub mean: f64,
}

/// `|cos|` between two vectors (0 if either vanishes).
pub fn abs_cos(a: &[f64], b: &[f64]) -> f64 {
    let ab: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let aa: f64 = a.iter().map(|x| x * x).sum();
    let bb: f64 = b.iter().map(|x| x * x).sum();
    if aa > 0.0 && bb > 0.0 {
        (ab / (aa * bb).sqrt()).abs()
    } else {
        0.0
    }
}

/// Matches each true atom (`truth[i]`) to a distinct learned column
/// (`learned.len() >= truth.len()`) maximising the total `|cos|`.
///
/// # Panics
/// If there are fewer learned columns than true atoms (a programmer error).
#[track_caller]
pub fn match_atoms(truth: &[&[f64]], learned: &[&[f64]]) -> Matching {
    let cost: Vec<Vec<f64>> = truth
        .iter()
        .map(|a| learned.iter().map(|b| -abs_cos(a, b)).collect())
        .collect();
    let perm = assignment(&cost);
    let cos: Vec<f64> = perm.iter().enumerate().map(|(i, &j)| -cost[i][j]).collect();
    let min = if cos.is_empty() {
        0.0
    } else {
        cos.iter().copied().fold(f64::INFINITY, f64::min)
    };
    let mean = cos.iter().sum::<f64>() / cos.len().max(1) as f64;
    Matching {
        perm,
        cos,
        min,
        mean,
    }
}
