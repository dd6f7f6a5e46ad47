//! T4 (moment-tensor identity for sparse coding) and T5 (dictionary recovery):
//! implicit contractions against full tensors and finite differences, the
//! remainder bound on exact empirical distributions, the power method's law on
//! noiseless tensors, recovery from samples, Hungarian matching against brute
//! force, LAPACK against nalgebra.

#![allow(clippy::needless_range_loop)] // index loops mirror the math

use fsrgan::testing::{
    CENTRAL_DIFF_REL, EIGEN_ROUNDOFF, F64_ROUNDOFF, F64_SUM, FAULT_GAP, JENNRICH_EXACT,
    LINALG_ROUNDOFF, STRICT_GAP,
};
use fsrgan::theory::hungarian::{abs_cos, assignment, match_atoms};
use fsrgan::theory::moments::*;
use fsrgan::theory::tensor_decomp::*;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn atoms_matrix(atoms: &[Vec<f64>]) -> Array2<f64> {
    Array2::from_shape_fn((atoms.len(), atoms[0].len()), |(i, j)| atoms[i][j])
}

fn unit_atoms(d: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    (0..m)
        .map(|_| {
            let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
            let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            v.iter().map(|a| a / n).collect()
        })
        .collect()
}

#[test]
fn implicit_contractions_match_full_tensors_and_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (n, d) = (300, 5);
    let x = Array2::from_shape_fn((n, d), |_| StandardNormal.sample(&mut rng));
    let u: Array1<f64> = Array1::from_shape_fn(d, |_| StandardNormal.sample(&mut rng));
    for c in 1..=4u32 {
        let t = moment_tensor(x.view(), c);
        let mut uu = vec![0.0; d.pow(c)];
        outer_power(u.as_slice().unwrap(), c, &mut uu);
        let full: f64 = t.iter().zip(&uu).map(|(a, b)| a * b).sum();
        let implicit = moment_along(x.view(), u.view(), c as i32);
        // Both sum ~n d^c products of O(1) terms; 1e-12 relative is ~1e4 eps.
        assert!(
            (full - implicit).abs() <= F64_ROUNDOFF * full.abs().max(1.0),
            "c = {c}"
        );
        // Gradient: d/du E<x,u>^c = c E[<x,u>^{c-1} x], central differences h = 1e-6.
        let g = moment_gradient(x.view(), u.view(), c as i32);
        for k in 0..d {
            let mut up = u.clone();
            up[k] += 1e-6;
            let mut dn = u.clone();
            dn[k] -= 1e-6;
            let fd = (moment_along(x.view(), up.view(), c as i32)
                - moment_along(x.view(), dn.view(), c as i32))
                / 2e-6;
            assert!(
                (fd - c as f64 * g[k]).abs() <= CENTRAL_DIFF_REL * fd.abs().max(1.0),
                "c = {c}, k = {k}"
            );
        }
    }
}

/// T4 on exact empirical distributions: full tensors for small d.
fn remainder_full(atoms: &[Vec<f64>], codes: &Array2<f64>, c: u32) -> (f64, f64) {
    let x = codes.dot(&atoms_matrix(atoms));
    let m = moment_tensor(x.view(), c);
    let w: Vec<f64> = (0..atoms.len())
        .map(|k| {
            codes
                .column(k)
                .iter()
                .map(|v| v.powi(c as i32))
                .sum::<f64>()
                / codes.nrows() as f64
        })
        .collect();
    let refs: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let s = atom_tensor(&refs, &w, c);
    let r: f64 = m
        .iter()
        .zip(&s)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    (m.iter().map(|a| a * a).sum::<f64>().sqrt(), r)
}

#[test]
fn t4_remainder_is_bounded_vanishes_for_one_active_code_and_shrinks_with_sparsity() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (d, m, n) = (6, 8, 400);
    let atoms = unit_atoms(d, m, &mut rng); // over-complete, coherent
    for active in [1usize, 2, 3] {
        let codes = sparse_codes(n, m, active..=active, &mut rng);
        for c in 2..=4u32 {
            let (mn, r) = remainder_full(&atoms, &codes, c);
            let imp = sparse_coding_remainder(atoms_matrix(&atoms).view(), codes.view(), c as i32);
            // The implicit form gets ||R||^2 as a difference of O(||M||^2) sums of
            // n^2 terms, each with relative rounding <= n^2 eps, so ||R|| is
            // accurate to sqrt(n^2 eps) ||M|| = n sqrt(eps) ||M|| (6e-6 ||M|| here).
            assert!((imp.moment_norm - mn).abs() <= F64_ROUNDOFF * mn);
            let tol = n as f64 * f64::EPSILON.sqrt() * mn;
            assert!(
                (imp.remainder_norm - r).abs() <= tol,
                "active {active}, c {c}: {} vs {r}",
                imp.remainder_norm
            );
            assert!(
                r <= imp.bound * (1.0 + F64_ROUNDOFF) + F64_SUM,
                "bound violated: {r} > {}",
                imp.bound
            );
            if active == 1 {
                assert!(
                    r <= F64_SUM * mn,
                    "R_c must vanish with one active code: {r}"
                );
                assert!(imp.bound == 0.0);
            } else {
                assert!(r > FAULT_GAP * mn, "co-activation must leave a remainder");
            }
        }
    }
    // Relative remainder falls as codes get sparser (fixed seed, same dictionary).
    for c in [2i32, 3, 4] {
        let rel: Vec<f64> = [4usize, 3, 2, 1]
            .iter()
            .map(|&k| {
                sparse_coding_remainder(
                    atoms_matrix(&atoms).view(),
                    sparse_codes(2000, m, 1..=k, &mut rng).view(),
                    c,
                )
                .relative()
            })
            .collect();
        assert!(rel.windows(2).all(|w| w[1] < w[0]), "c = {c}: {rel:?}");
    }
    // Wrong weights (E[y]^c instead of E[y^c]) break the identity even with one active code.
    let codes = sparse_codes(n, m, 1..=1, &mut rng);
    let x = codes.dot(&atoms_matrix(&atoms));
    let mt = moment_tensor(x.view(), 4);
    let w: Vec<f64> = (0..m)
        .map(|k| (codes.column(k).sum() / n as f64).powi(4))
        .collect();
    let refs: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let s = atom_tensor(&refs, &w, 4);
    let r: f64 = mt
        .iter()
        .zip(&s)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    assert!(r > 0.1 * mt.iter().map(|a| a * a).sum::<f64>().sqrt());
}

#[test]
fn t5_power_step_law_on_noiseless_orthogonal_tensors() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let atoms = random_orthonormal(10, 6, &mut rng);
    let lambdas = vec![1.0, 0.5, 2.0, 0.7, 1.3, 0.9];
    let t = Odeco {
        atoms: atoms.clone(),
        lambdas: lambdas.clone(),
    };
    let mut u: Vec<f64> = (0..10).map(|_| StandardNormal.sample(&mut rng)).collect();
    for _ in 0..4 {
        let c: Vec<f64> = atoms
            .iter()
            .map(|a| a.iter().zip(&u).map(|(x, y)| x * y).sum())
            .collect();
        let next = t.contract(&u);
        let c2: Vec<f64> = atoms
            .iter()
            .map(|a| a.iter().zip(&next).map(|(x, y)| x * y).sum())
            .collect();
        // Round-off scale: eps times the size of T(I, u, u, u).
        let scale = (0..6)
            .map(|i| (lambdas[i] * c[i].powi(3)).abs())
            .fold(0.0, f64::max);
        for i in 0..6 {
            let law = lambdas[i] * c[i].powi(3);
            assert!(
                (c2[i] - law).abs() <= F64_SUM * scale,
                "coefficient {i}: {} vs {law}",
                c2[i]
            );
        }
        // A wrong law (c_i^2 instead of c_i^3) fails at this tolerance.
        assert!((0..6).any(|i| (c2[i] - lambdas[i] * c[i] * c[i]).abs() > STRICT_GAP * scale));
        let nrm = next.iter().map(|a| a * a).sum::<f64>().sqrt();
        u = next.iter().map(|a| a / nrm).collect();
    }
    // Continued, the iteration converges (cubically) to one atom.
    for _ in 0..20 {
        let next = t.contract(&u);
        let nrm = next.iter().map(|a| a * a).sum::<f64>().sqrt();
        u = next.iter().map(|a| a / nrm).collect();
    }
    assert!(atoms.iter().map(|a| abs_cos(a, &u)).fold(0.0, f64::max) > 1.0 - F64_ROUNDOFF);
}

#[test]
fn t5_power_method_recovers_an_orthonormal_dictionary_d48_m32_from_1e5_samples() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (d, m, n) = (48, 32, 100_000);
    let atoms = random_orthonormal(d, m, &mut rng);
    let codes = sparse_codes(n, m, 1..=2, &mut rng);
    let x = codes.dot(&atoms_matrix(&atoms));
    let found = power_method(x.view(), m, 3, 60, &mut rng).unwrap();
    let truth: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
    let mt = match_atoms(&truth, &got);
    eprintln!(
        "power method d=48 m=32 n=1e5: min |cos| {:.5}, mean {:.5}",
        mt.min, mt.mean
    );
    assert!(mt.min >= 0.99, "min matched |cos| {}", mt.min);
    // Wrong input: random directions score far lower.
    let random = unit_atoms(d, m, &mut rng);
    let rnd: Vec<&[f64]> = random.iter().map(Vec::as_slice).collect();
    assert!(match_atoms(&truth, &rnd).min < 0.6);
    // Degree-4 ascent from a random start also lands on an atom.
    let v0: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
    let v = ascent_degree4(x.view(), &v0, 1.0, 200);
    let best = atoms.iter().map(|a| abs_cos(a, &v)).fold(0.0, f64::max);
    assert!(best > 0.99, "ascent reached |cos| {best}");
}

#[test]
fn t5_jennrich_recovers_the_atoms_from_the_third_moment() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (d, m, n) = (20, 10, 100_000);
    let atoms = random_orthonormal(d, m, &mut rng);
    let codes = sparse_codes(n, m, 1..=1, &mut rng);
    let x = codes.dot(&atoms_matrix(&atoms));
    let found = jennrich(x.view(), m, &mut rng).unwrap();
    let truth: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
    let mt = match_atoms(&truth, &got);
    eprintln!("Jennrich d=20 m=10 (one active): min |cos| {:.6}", mt.min);
    // One active code: the 3rd moment is exactly orthogonally decomposable, so
    // recovery is exact up to floating point.
    assert!(mt.min > 1.0 - JENNRICH_EXACT, "{}", mt.min);
}

#[test]
fn hungarian_matches_brute_force_and_is_invariant_to_sign_and_permutation() {
    fn perms(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in perms(n - 1) {
            for i in 0..n {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for n in 1..=7 {
        for _ in 0..5 {
            let cost: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..n).map(|_| StandardNormal.sample(&mut rng)).collect())
                .collect();
            let a = assignment(&cost);
            let got: f64 = a.iter().enumerate().map(|(i, &j)| cost[i][j]).sum();
            let best = perms(n)
                .iter()
                .map(|p| p.iter().enumerate().map(|(i, &j)| cost[i][j]).sum::<f64>())
                .fold(f64::INFINITY, f64::min);
            assert!(
                (got - best).abs() < F64_ROUNDOFF,
                "n = {n}: {got} vs {best}"
            );
        }
    }
    // Rectangular: 3 rows, 5 columns, brute force over injections.
    let cost: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..5).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    let a = assignment(&cost);
    let got: f64 = a.iter().enumerate().map(|(i, &j)| cost[i][j]).sum();
    let mut best = f64::INFINITY;
    for i in 0..5 {
        for j in 0..5 {
            for k in 0..5 {
                if i != j && j != k && i != k {
                    best = best.min(cost[0][i] + cost[1][j] + cost[2][k]);
                }
            }
        }
    }
    assert!((got - best).abs() < F64_ROUNDOFF);
    // A learned dictionary equal to the truth up to signs and a permutation scores 1.
    let atoms = random_orthonormal(8, 5, &mut rng);
    let mut learned: Vec<Vec<f64>> = atoms
        .iter()
        .rev()
        .map(|a| a.iter().map(|v| -v).collect())
        .collect();
    learned.push(unit_atoms(8, 1, &mut rng).remove(0));
    let t: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let l: Vec<&[f64]> = learned.iter().map(Vec::as_slice).collect();
    let mt = match_atoms(&t, &l);
    assert!(mt.min > 1.0 - F64_ROUNDOFF && mt.perm == vec![4, 3, 2, 1, 0]);
}

#[test]
fn lapack_results_agree_with_nalgebra() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = Array2::from_shape_fn((9, 6), |_| StandardNormal.sample(&mut rng));
    // Pseudo-inverse (full rank 6) against nalgebra's SVD pseudo-inverse.
    let ours = truncated_pinv(&a, 6).unwrap();
    let na = nalgebra::DMatrix::from_fn(9, 6, |i, j| a[[i, j]]);
    let svd = na
        .clone()
        .try_svd(true, true, 1e-15, 1000)
        .expect("nalgebra svd converges");
    let theirs = svd.pseudo_inverse(1e-12).unwrap();
    for i in 0..6 {
        for j in 0..9 {
            assert!((ours[[i, j]] - theirs[(i, j)]).abs() < LINALG_ROUNDOFF);
        }
    }
    // Eigenvalues of a non-symmetric product (as in Jennrich) against nalgebra's Schur form.
    use ndarray_linalg::Eig;
    let b = Array2::from_shape_fn((6, 6), |_| StandardNormal.sample(&mut rng));
    let (vals, _): (ndarray::Array1<ndarray_linalg::c64>, _) = b.eig().unwrap();
    let nb = nalgebra::DMatrix::from_fn(6, 6, |i, j| b[[i, j]]);
    let schur = nalgebra::linalg::Schur::try_new(nb, 1e-15, 1000).expect("schur converges");
    let mut ours: Vec<(f64, f64)> = vals.iter().map(|c| (c.re, c.im)).collect();
    let mut theirs: Vec<(f64, f64)> = schur
        .complex_eigenvalues()
        .iter()
        .map(|c| (c.re, c.im))
        .collect();
    let key = |p: &(f64, f64)| (p.0 * 1e6).round() as i64 * 1_000_000 + (p.1 * 1e6).round() as i64;
    ours.sort_by_key(key);
    theirs.sort_by_key(key);
    for (x, y) in ours.iter().zip(&theirs) {
        assert!(
            (x.0 - y.0).abs() < EIGEN_ROUNDOFF && (x.1 - y.1).abs() < EIGEN_ROUNDOFF,
            "{x:?} vs {y:?}"
        );
    }
}
