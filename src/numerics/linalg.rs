//! Level-1 vector kernels in a fixed summation order, and orthonormalisation.
//!
//! * `axpy`: `y += a x`;
//! * `dot`: `<a, b>` with four interleaved partial sums `acc[i % 4]`, combined as
//!   `(acc_0 + acc_1) + (acc_2 + acc_3) + tail` — a fixed order that
//!   vectorises and depends on nothing but the two slices, so results are
//!   bit-identical for any batching or thread count;
//! * `dot4`: four `dot`s against the same vector at once, each bit-identical to `dot`;
//! * `orthonormalize`: modified Gram–Schmidt, run twice ("twice is enough").
//!
//! The model's parameters and sampler are computed with these, so changing
//! their order of operations changes every dataset's bytes.

/// `y += a x` (element by element, over the shorter of the two slices).
#[inline]
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `<a, b>` summed in a fixed order with four partial sums (vectorisable,
/// and independent of everything but the two slices).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Orthonormalises the columns (each `d` long, stored one after another) in
/// place by modified Gram–Schmidt run twice ("twice is enough"), in order:
/// `col_i -= <col_j, col_i> col_j` for `j < i`, twice, then `col_i /= ||col_i||`.
/// Columns must be linearly independent (random Gaussian ones are, almost surely).
pub fn orthonormalize(cols: &mut [f64], d: usize) {
    let m = cols.len() / d.max(1);
    for i in 0..m {
        let (done, rest) = cols.split_at_mut(i * d);
        let col = &mut rest[..d];
        for _pass in 0..2 {
            for prev in done.chunks_exact(d) {
                let c = dot(prev, col);
                axpy(-c, prev, col);
            }
        }
        let norm = dot(col, col).sqrt();
        col.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Four dot products `<rows[r d..(r+1) d], b>`, `r = 0..4`, `d = b.len()`,
/// each bit-identical to [`dot`] (the same partial sums in the same order);
/// computing them together lets their additions overlap.
#[inline]
pub fn dot4(rows: &[f64], b: &[f64]) -> [f64; 4] {
    let d = b.len();
    let (r0, rest) = rows.split_at(d);
    let (r1, rest) = rest.split_at(d);
    let (r2, r3) = rest.split_at(d);
    let r3 = &r3[..d];
    let mut acc = [[0.0f64; 4]; 4];
    let whole = d / 4 * 4;
    for ((((y, x0), x1), x2), x3) in b[..whole]
        .chunks_exact(4)
        .zip(r0.chunks_exact(4))
        .zip(r1.chunks_exact(4))
        .zip(r2.chunks_exact(4))
        .zip(r3.chunks_exact(4))
    {
        for i in 0..4 {
            acc[0][i] += x0[i] * y[i];
            acc[1][i] += x1[i] * y[i];
            acc[2][i] += x2[i] * y[i];
            acc[3][i] += x3[i] * y[i];
        }
    }
    let mut out = [0.0; 4];
    for (r, row) in [r0, r1, r2, r3].into_iter().enumerate() {
        let mut tail = 0.0;
        for (x, y) in row[whole..].iter().zip(&b[whole..]) {
            tail += x * y;
        }
        let a = &acc[r];
        out[r] = (a[0] + a[1]) + (a[2] + a[3]) + tail;
    }
    out
}
