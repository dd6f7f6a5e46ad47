//! Named, reproducible random streams.
//!
//! Every random number of the model comes from `ChaCha8` (rand_chacha), keyed
//! by `(seed, domain)` and, for samples, with stream number = sample index, so
//! sample `i` is the same whatever the batch size, thread count or shard.
//! Normal deviates use Marsaglia's polar method with `libm::log` (pure Rust),
//! so they are bit-identical on every platform.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The independent uses of one seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Ground-truth parameters.
    Params = 1,
    /// The dataset's samples (stream = sample index).
    Samples = 2,
    /// The calibration sample for ConvT scales and thresholds (stream = index).
    Calibration = 3,
}

/// SplitMix64 step: `x += 0x9E3779B97F4A7C15`, then the usual xor-shift-multiply mix.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for one use (`parts`, distinct tags per use) of `seed`: SplitMix64
/// finalisers chained over the parts, so different uses get unrelated streams:
/// `h_0 = mix(seed ^ 0x5C0E5C0E)`, `h_{i+1} = mix(h_i ^ mix(p_i + 0x9E3779B97F4A7C15))`.
pub fn derive_seed(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix(seed ^ 0x5C0E_5C0E), |h, &p| {
        mix(h ^ mix(p.wrapping_add(0x9E37_79B9_7F4A_7C15)))
    })
}

/// The 256-bit ChaCha key for `(seed, domain)`: four SplitMix64 outputs from
/// the state `seed ^ (domain * 0xD1B54A32D192ED03)`.
pub fn key(seed: u64, domain: Domain) -> [u8; 32] {
    let mut state = seed ^ (domain as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    out
}

/// A reproducible stream of uniforms and normals.
#[derive(Debug, Clone)]
pub struct Stream {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Stream {
    /// Stream `index` of domain `domain` under `seed`.
    pub fn new(seed: u64, domain: Domain, index: u64) -> Stream {
        let mut rng = ChaCha8Rng::from_seed(key(seed, domain));
        rng.set_stream(index);
        Stream { rng, spare: None }
    }

    /// Uniform on `[0, 1)` with 53 random bits: `(u64 >> 11) * 2^-53`.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal by the polar method: draw `u, v ~ U(-1, 1)` until
    /// `0 < s = u^2 + v^2 < 1`, then `u sqrt(-2 ln s / s)` and `v sqrt(-2 ln s / s)`.
    pub fn normal(&mut self) -> f64 {
        if let Some(x) = self.spare.take() {
            return x;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }

    /// Fills `out` with standard normals.
    pub fn fill_normal(&mut self, out: &mut [f64]) {
        for x in out {
            *x = self.normal();
        }
    }
}
