//! The generator's forward pass for one sample, exploiting sparsity.
//!
//! Formulas (model.md section 2), with `u = (j, p)` a level-1 unit:
//!
//! * level 1: `S_1[j,p] = ReLU(alpha_j <w[j,p], z> - beta_j)`;
//! * level `l+1`: `pre[o, y, x] = sum_{j, py, px} S_l[j, py, px] W[j, o, ky, kx]`
//!   with `y = 2 py - pad + ky`, `x = 2 px - pad + kx` (PyTorch's
//!   `conv_transpose2d`, stride 2, `pad = (k-2)/2`), then
//!   `S_{l+1} = ReLU(pre - b + sigma xi)`;
//! * output: `X_l[ch, y, x] = sum_{i, py, px} S_l[i, py, px] out[i, ch, ky, kx]`
//!   with `y = q py - po + ky` (stride `q`, padding `po`).
//!
//! Hidden codes are held position-major, `s[(py n + px) m + j]`, with a
//! bitmask of the active (positive) channels of every position ([`Codes`]),
//! set when the codes are computed. The super-resolution and output layers
//! visit only the active codes, in increasing `(py, px, j)` order, by walking
//! the masks' set bits, and the scatter of one active code is an axpy over the
//! output channels: with `k_l` of `m_l` channels active they cost `k_l / m_l`
//! of their dense counterparts, and no pass scans the zeros again. Every sum
//! runs in a fixed order (the order of the dense loop with the zero terms
//! left out), so a sample's result does not depend on how samples are batched
//! or threaded.

use super::params::Params;
use super::rng::Stream;
use crate::numerics::linalg::{axpy, dot, dot4};

/// One super-resolution layer in the sampler's layout.
#[derive(Debug, Clone)]
pub(crate) struct UpKernel {
    /// `wt[((j k + ky) k + kx) m_out + o] = W[j, o, ky, kx]`.
    pub wt: Vec<f64>,
    pub bias: Vec<f64>,
    pub sigma: f64,
    pub m_out: usize,
    pub n_in: usize,
    pub k: usize,
    pub pad: usize,
}

/// One output layer in the sampler's layout: `atoms[i * dout + (ch ko + ky) ko + kx]`.
#[derive(Debug, Clone)]
pub(crate) struct OutKernel {
    pub atoms: Vec<f64>,
    pub m: usize,
    pub n: usize,
    pub c: usize,
    pub q: usize,
    pub ko: usize,
    pub po: usize,
}

/// The generator prepared for fast per-sample evaluation.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub d0: usize,
    pub n1: usize,
    pub m1: usize,
    /// `w1[u * d0 + i]`, `u = (j n1 + py) n1 + px` (PyTorch order of `level1.w`).
    pub w1: Vec<f64>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
    pub up: Vec<UpKernel>,
    pub out: Vec<OutKernel>,
}

impl Net {
    /// Builds the kernels from parameters in the interchange layout.
    pub fn new(p: &Params) -> Net {
        let cfg = &p.config;
        let up =
            p.up.iter()
                .enumerate()
                .map(|(i, layer)| {
                    up_kernel(
                        &layer.weight,
                        &layer.bias,
                        cfg.sigma[i + 1],
                        cfg.n(i),
                        cfg.up_padding(),
                    )
                })
                .collect();
        let out = p
            .out
            .iter()
            .enumerate()
            .map(|(l, o)| {
                let (m, c, ko, _) = o.dim();
                OutKernel {
                    atoms: o.iter().copied().collect(),
                    m,
                    n: cfg.n(l),
                    c,
                    q: cfg.patch,
                    ko,
                    po: cfg.output.padding(cfg.patch),
                }
            })
            .collect();
        Net {
            d0: cfg.d0,
            n1: cfg.n1,
            m1: cfg.m[0],
            w1: p.level1.w.iter().copied().collect(),
            alpha: p.level1.alpha.to_vec(),
            beta: p.level1.beta.to_vec(),
            up,
            out,
        }
    }

    /// Number of levels `L`.
    pub fn levels(&self) -> usize {
        self.out.len()
    }

    /// Length of the position-major code vector at level `l`.
    pub fn s_len(&self, l: usize) -> usize {
        let o = &self.out[l];
        o.n * o.n * o.m
    }

    /// Length of the image at level `l`, `c r_l r_l`.
    pub fn x_len(&self, l: usize) -> usize {
        let o = &self.out[l];
        let r = o.n * o.q;
        o.c * r * r
    }
}

/// Position-major codes of one level, `v[p m + j] >= 0`, and for every
/// position `p` a bitmask of its active channels: bit `j % 64` of
/// `mask[p words + j / 64]` is set iff `v[p m + j] > 0`.
///
/// Codes are ReLU outputs (`max(., 0)`: never negative, never NaN), so
/// "positive" and "non-zero" select the same channels.
#[derive(Debug, Clone)]
pub(crate) struct Codes {
    pub v: Vec<f64>,
    pub mask: Vec<u64>,
    pub m: usize,
    words: usize,
}

impl Codes {
    /// All-zero codes of `positions` positions and `m` channels.
    pub fn zeros(positions: usize, m: usize) -> Codes {
        let words = m.div_ceil(64);
        Codes {
            v: vec![0.0; positions * m],
            mask: vec![0; positions * words],
            m,
            words,
        }
    }

    /// Codes holding `v` (position-major, `m` channels), with their masks.
    pub fn from_values(v: Vec<f64>, m: usize) -> Codes {
        let words = m.div_ceil(64);
        let positions = v.len() / m.max(1);
        let mut c = Codes {
            v,
            mask: vec![0; positions * words],
            m,
            words,
        };
        c.update_masks();
        c
    }

    /// Recomputes every position's mask from the values.
    pub fn update_masks(&mut self) {
        let (m, words) = (self.m, self.words);
        if m == 0 {
            return;
        }
        for (vals, mask) in self
            .v
            .chunks_exact(m)
            .zip(self.mask.chunks_exact_mut(words))
        {
            mask_of(vals, mask);
        }
    }

    /// The active channels of position `p` with their codes, `(j, v)` in
    /// increasing `j`.
    #[inline(always)]
    pub fn active(&self, p: usize) -> Active<'_> {
        let words = &self.mask[p * self.words..(p + 1) * self.words];
        Active {
            bits: words.first().copied().unwrap_or(0),
            words,
            w: 0,
            vals: &self.v[p * self.m..(p + 1) * self.m],
        }
    }

    /// Number of active channels at position `p`.
    #[inline(always)]
    pub fn count(&self, p: usize) -> usize {
        self.mask[p * self.words..(p + 1) * self.words]
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum()
    }
}

/// `mask[j / 64]` bit `j % 64` = `vals[j] > 0`.
#[inline(always)]
fn mask_of(vals: &[f64], mask: &mut [u64]) {
    for (word, chunk) in mask.iter_mut().zip(vals.chunks(64)) {
        let mut bits = 0u64;
        for (j, &v) in chunk.iter().enumerate() {
            bits |= u64::from(v > 0.0) << j;
        }
        *word = bits;
    }
}

/// Iterator over the set bits of a position's mask, see [`Codes::active`].
pub(crate) struct Active<'a> {
    words: &'a [u64],
    w: usize,
    bits: u64,
    vals: &'a [f64],
}

impl Iterator for Active<'_> {
    type Item = (usize, f64);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, f64)> {
        while self.bits == 0 {
            self.w += 1;
            self.bits = *self.words.get(self.w)?;
        }
        let j = self.w * 64 + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some((j, self.vals[j]))
    }
}

/// Converts a PyTorch-layout ConvT weight `(m_in, m_out, k, k)` to the sampler's layout.
pub(crate) fn up_kernel(
    weight: &ndarray::Array4<f64>,
    bias: &ndarray::Array1<f64>,
    sigma: f64,
    n_in: usize,
    pad: usize,
) -> UpKernel {
    let (m_in, m_out, k, _) = weight.dim();
    let mut wt = vec![0.0; m_in * k * k * m_out];
    for ((j, o, ky, kx), &v) in weight.indexed_iter() {
        wt[((j * k + ky) * k + kx) * m_out + o] = v;
    }
    UpKernel {
        wt,
        bias: bias.to_vec(),
        sigma,
        m_out,
        n_in,
        k,
        pad,
    }
}

/// `s[(p) m1 + j] = ReLU(alpha_j <w[j,p], z> - beta_j)` for all units, and
/// the masks. The dot products run four units at a time ([`dot4`], each
/// bit-identical to [`dot`]) so that their additions overlap.
#[inline(always)]
pub(crate) fn level1(net: &Net, z: &[f64], s: &mut Codes) {
    let (d0, np, m1) = (net.d0, net.n1 * net.n1, net.m1);
    let units = m1 * np;
    let mut set = |u: usize, g: f64| {
        let (j, p) = (u / np, u % np);
        s.v[p * m1 + j] = (net.alpha[j] * g - net.beta[j]).max(0.0);
    };
    let quads = units / 4;
    for (i, rows) in net.w1[..quads * 4 * d0].chunks_exact(4 * d0).enumerate() {
        let g = dot4(rows, z);
        for (r, &gr) in g.iter().enumerate() {
            set(4 * i + r, gr);
        }
    }
    for u in quads * 4..units {
        set(u, dot(&net.w1[u * d0..(u + 1) * d0], z));
    }
    s.update_masks();
}

/// `pre = ConvT(s_in)` (no bias), position-major; `pre` is overwritten.
/// Only the active codes of `s_in` are visited, in increasing `(py, px, j)`.
#[inline(always)]
pub(crate) fn up_pre(kn: &UpKernel, s_in: &Codes, pre: &mut [f64]) {
    let (n, k, m_out) = (kn.n_in, kn.k, kn.m_out);
    let n_out = 2 * n;
    pre.fill(0.0);
    for py in 0..n {
        for px in 0..n {
            for (j, sv) in s_in.active(py * n + px) {
                for ky in 0..k {
                    let Some(y) = (2 * py + ky).checked_sub(kn.pad).filter(|&y| y < n_out) else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(x) = (2 * px + kx).checked_sub(kn.pad).filter(|&x| x < n_out)
                        else {
                            continue;
                        };
                        let w = &kn.wt[((j * k + ky) * k + kx) * m_out..][..m_out];
                        let dst = &mut pre[(y * n_out + x) * m_out..][..m_out];
                        axpy(sv, w, dst);
                    }
                }
            }
        }
    }
}

/// `s_out = ReLU(pre - b + sigma xi)` and its masks, drawing `xi` from
/// `stream` (position-major order) only when `sigma > 0`.
#[inline(always)]
pub(crate) fn up_activate(kn: &UpKernel, pre: &[f64], s_out: &mut Codes, stream: &mut Stream) {
    let m = kn.m_out;
    if kn.sigma > 0.0 {
        for (i, (dst, &v)) in s_out.v.iter_mut().zip(pre).enumerate() {
            *dst = (v - kn.bias[i % m] + kn.sigma * stream.normal()).max(0.0);
        }
        s_out.update_masks();
    } else {
        let words = s_out.words;
        for ((dst, v), mask) in s_out
            .v
            .chunks_exact_mut(m)
            .zip(pre.chunks_exact(m))
            .zip(s_out.mask.chunks_exact_mut(words))
        {
            for ((d, &p), &b) in dst.iter_mut().zip(v).zip(&kn.bias) {
                *d = (p - b).max(0.0);
            }
            mask_of(dst, mask);
        }
    }
}

/// `x = OutConvT(s)` in `(c, r, r)` layout (active codes only, increasing `i`); `patch` is a scratch of length `c ko ko`.
#[inline(always)]
pub(crate) fn output(kn: &OutKernel, s: &Codes, x: &mut [f64], patch: &mut [f64]) {
    let (n, c, q, ko) = (kn.n, kn.c, kn.q, kn.ko);
    let r = n * q;
    let dout = c * ko * ko;
    let disjoint = kn.po == 0 && ko == q;
    if !disjoint {
        x.fill(0.0);
    }
    let patch = &mut patch[..dout];
    for py in 0..n {
        for px in 0..n {
            let mut any = false;
            zero(patch);
            for (i, sv) in s.active(py * n + px) {
                any = true;
                axpy(sv, &kn.atoms[i * dout..(i + 1) * dout], patch);
            }
            if disjoint {
                // Non-overlapping patches: each row of the patch is a row segment
                // of x, written once (zeros for an inactive patch).
                for ch in 0..c {
                    for ky in 0..q {
                        let dst = &mut x[(ch * r + q * py + ky) * r + q * px..][..q];
                        copy_row(dst, &patch[(ch * q + ky) * q..][..q]);
                    }
                }
                continue;
            }
            if !any {
                continue;
            }
            for ch in 0..c {
                for ky in 0..ko {
                    let Some(y) = (q * py + ky).checked_sub(kn.po).filter(|&y| y < r) else {
                        continue;
                    };
                    for kx in 0..ko {
                        let Some(xx) = (q * px + kx).checked_sub(kn.po).filter(|&xx| xx < r) else {
                            continue;
                        };
                        x[(ch * r + y) * r + xx] += patch[(ch * ko + ky) * ko + kx];
                    }
                }
            }
        }
    }
}

/// `v[..] = 0` in blocks of four (a call to `memset` costs more than the
/// few dozen values of a patch).
#[inline(always)]
fn zero(v: &mut [f64]) {
    let mut blocks = v.chunks_exact_mut(4);
    for b in &mut blocks {
        b.copy_from_slice(&[0.0; 4]);
    }
    for d in blocks.into_remainder() {
        *d = 0.0;
    }
}

/// `dst = src` for the short rows of a patch, without a call to `memmove`.
#[inline(always)]
fn copy_row(dst: &mut [f64], src: &[f64]) {
    if let (Ok(d), Ok(s)) = (
        <&mut [f64; 4]>::try_from(&mut *dst),
        <&[f64; 4]>::try_from(src),
    ) {
        *d = *s;
        return;
    }
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v;
    }
}

/// Per-sample workspace of [`forward`].
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    pub z: Vec<f64>,
    /// Position-major codes per level.
    pub s: Vec<Codes>,
    pre: Vec<f64>,
    patch: Vec<f64>,
}

impl Workspace {
    pub fn new(net: &Net) -> Workspace {
        let levels = net.levels();
        let max_s = (0..levels).map(|l| net.s_len(l)).max().unwrap_or(0);
        let positions = |l: usize| net.out[l].n * net.out[l].n;
        let max_patch = net.out.iter().map(|o| o.c * o.ko * o.ko).max().unwrap_or(0);
        Workspace {
            z: vec![0.0; net.d0],
            s: (0..levels)
                .map(|l| Codes::zeros(positions(l), net.out[l].m))
                .collect(),
            pre: vec![0.0; max_s],
            patch: vec![0.0; max_patch],
        }
    }
}

/// The whole generator for one sample: draws `z` (then any noise) from
/// `stream`, fills `ws.z` and `ws.s`, and paints the images into `x[l]`
/// (`(c, r_l, r_l)` each).
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time with AVX2
/// enabled and chosen at run time. Rust never reassociates or fuses float
/// operations, so both versions perform the same IEEE operations in the same
/// order and give bit-identical results (tested below).
pub(crate) fn forward(net: &Net, stream: &mut Stream, ws: &mut Workspace, x: &mut [&mut [f64]]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { forward_avx2(net, stream, ws, x) };
        return;
    }
    forward_impl(net, stream, ws, x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn forward_avx2(net: &Net, stream: &mut Stream, ws: &mut Workspace, x: &mut [&mut [f64]]) {
    forward_impl(net, stream, ws, x);
}

#[inline(always)]
fn forward_impl(net: &Net, stream: &mut Stream, ws: &mut Workspace, x: &mut [&mut [f64]]) {
    stream.fill_normal(&mut ws.z);
    level1(net, &ws.z, &mut ws.s[0]);
    for (l, kn) in net.up.iter().enumerate() {
        let (lo, hi) = ws.s.split_at_mut(l + 1);
        let pre = &mut ws.pre[..hi[0].v.len()];
        up_pre(kn, &lo[l], pre);
        up_activate(kn, pre, &mut hi[0], stream);
    }
    for ((kn, s), xl) in net.out.iter().zip(&ws.s).zip(x.iter_mut()) {
        output(kn, s, xl, &mut ws.patch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rng::Domain;
    use crate::model::{Config, Params};

    #[test]
    fn simd_and_generic_paths_agree_bit_for_bit() {
        for name in ["small", "paper"] {
            let p = Params::generate(&Config::preset(name).unwrap(), 3).unwrap();
            let net = Net::new(&p);
            let run = |simd: bool| {
                let mut ws = Workspace::new(&net);
                let mut xs: Vec<Vec<f64>> =
                    (0..net.levels()).map(|l| vec![0.0; net.x_len(l)]).collect();
                let mut out = Vec::new();
                for i in 0..20 {
                    let mut stream = Stream::new(3, Domain::Samples, i);
                    let mut views: Vec<&mut [f64]> =
                        xs.iter_mut().map(|v| v.as_mut_slice()).collect();
                    if simd {
                        forward(&net, &mut stream, &mut ws, &mut views);
                    } else {
                        forward_impl(&net, &mut stream, &mut ws, &mut views);
                    }
                    out.extend(xs.iter().flatten().map(|v| v.to_bits()));
                    out.extend(ws.s.iter().flat_map(|c| &c.v).map(|v| v.to_bits()));
                }
                out
            };
            assert!(run(true) == run(false), "{name}");
        }
    }
}
