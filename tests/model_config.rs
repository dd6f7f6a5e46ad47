//! Config validation: presets are valid, every rule rejects with the field's
//! name, TOML overrides work, and random configs never panic.

use fsrgan::model::{Config, ModelError, Params, Sampler};
use proptest::prelude::*;

const FIELDS: [&str; 16] = [
    "levels",
    "channels",
    "patch",
    "n1",
    "d0",
    "m",
    "k",
    "sigma",
    "kernel",
    "alpha_min",
    "alpha_max",
    "dictionary",
    "output",
    "decode_tau",
    "calibration_samples",
    "resolutions",
];

fn field_of(e: &ModelError) -> Option<&str> {
    match e {
        ModelError::InvalidConfig { field, .. } => Some(field),
        _ => None,
    }
}

#[test]
fn presets_are_valid_and_match_the_spec_table() {
    // model.md section 5: resolutions per preset.
    for (name, res) in [
        ("tiny", vec![4, 8]),
        ("small", vec![4, 8, 16]),
        ("paper", vec![8, 16, 32, 64]),
    ] {
        let c = Config::preset(name).unwrap().validated().unwrap();
        let got: Vec<usize> = (0..c.levels).map(|l| c.resolution(l)).collect();
        assert_eq!(got, res, "{name}");
    }
    assert!(matches!(
        Config::preset("huge"),
        Err(ModelError::UnknownPreset(_))
    ));
}

#[test]
fn each_rule_rejects_with_the_field_named() {
    let cases: Vec<(&str, &str)> = vec![
        ("preset = 'small'\nlevels = 0", "levels"),
        ("preset = 'small'\nchannels = 0", "channels"),
        ("preset = 'small'\nm = [12, 12]", "m"),
        ("preset = 'small'\nm = 13", "m"), // orthonormal needs m <= D = 12
        ("preset = 'small'\nk = 12", "k"), // k < m
        ("preset = 'small'\nk = -1.0", "k"),
        ("preset = 'small'\nsigma = [0.5, 0.0, 0.0]", "sigma"),
        ("preset = 'small'\nsigma = -0.1", "sigma"),
        ("preset = 'small'\nkernel = 3", "kernel"),
        ("preset = 'small'\nalpha_min = 0.0", "alpha_min"),
        ("preset = 'small'\nalpha_max = 0.5", "alpha_max"),
        ("preset = 'small'\ndecode_tau = -1.0", "decode_tau"),
        (
            "preset = 'small'\ncalibration_samples = 10",
            "calibration_samples",
        ),
        (
            "preset = 'tiny'\noutput = 'overlap'\npatch = 3\nm = 4",
            "output",
        ),
        ("preset = 'small'\nresolutions = [4, 8, 12]", "resolutions"),
        ("preset = 'small'\nn1 = 4611686018427387904", "levels"), // one sample too large
        ("preset = 7", "preset"),
    ];
    for (text, field) in cases {
        let err = Config::from_toml(text).expect_err(text);
        assert_eq!(field_of(&err), Some(field), "{text}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    // Unknown fields and wrong types are TOML errors naming the key.
    let err = Config::from_toml("preset = 'small'\nlevles = 3").unwrap_err();
    assert!(
        matches!(err, ModelError::Toml(_)) && err.to_string().contains("levles"),
        "{err}"
    );
    let err = Config::from_toml("preset = 'small'\nkernel = 'four'").unwrap_err();
    assert!(err.to_string().contains("kernel"), "{err}");
}

#[test]
fn toml_overrides_a_preset_and_round_trips() {
    let c = Config::from_toml("preset = 'small'\nk = 0.5\nd0 = 32\ndictionary = 'unit'\nm = 16")
        .unwrap();
    assert_eq!(c.k, vec![0.5; 3]);
    assert_eq!(c.m, vec![16; 3]);
    assert_eq!(c.d0, 32);
    assert_eq!(Config::from_toml(&c.to_toml()).unwrap(), c);
    // An unreachable sparsity target is reported on the k field at generation.
    let c = Config::from_toml("preset = 'tiny'\nk = [0.5, 3.9]").unwrap();
    let err = Params::generate(&c, 1).unwrap_err();
    assert_eq!(field_of(&err), Some("k"), "{err}");
}

/// Wild configs (fields anywhere, most invalid) mixed with plausible ones
/// (mostly valid), so both validation and sampling are exercised.
fn arb_config() -> impl Strategy<Value = Config> {
    prop_oneof![wild_config(), plausible_config()]
}

fn wild_config() -> impl Strategy<Value = Config> {
    (
        (0usize..5, 0usize..4, 0usize..5, 0usize..4, 0usize..40),
        (
            prop::collection::vec(0usize..14, 0..5),
            prop::collection::vec(-1.0f64..8.0, 0..5),
        ),
        (
            prop::collection::vec(-0.2f64..0.6, 0..5),
            0usize..6,
            -0.5f64..2.0,
            -0.5f64..2.5,
        ),
        (any::<bool>(), any::<bool>(), -0.1f64..0.3, 200usize..600),
    )
        .prop_map(
            |(
                (levels, channels, patch, n1, d0),
                (m, k),
                (sigma, kernel, amin, amax),
                (unit, overlap, tau, cal),
            )| {
                config(
                    levels, channels, patch, n1, d0, m, k, sigma, kernel, amin, amax, unit,
                    overlap, tau, cal,
                )
            },
        )
}

fn plausible_config() -> impl Strategy<Value = Config> {
    (
        (1usize..4, 1usize..4, 2usize..5, 1usize..3, 1usize..40),
        (1usize..10, 0.1f64..3.0, prop_oneof![Just(0.0), 0.0f64..0.5]),
        (prop_oneof![Just(2usize), Just(4)], 0.5f64..1.0, 1.0f64..1.5),
        (any::<bool>(), any::<bool>(), 0.0f64..0.1, 256usize..600),
    )
        .prop_map(
            |(
                (levels, channels, patch, n1, d0),
                (m, k, sigma),
                (kernel, amin, amax),
                (unit, overlap, tau, cal),
            )| {
                let mut sig = vec![sigma; levels];
                sig[0] = 0.0;
                config(
                    levels,
                    channels,
                    patch,
                    n1,
                    d0,
                    vec![m],
                    vec![k],
                    sig,
                    kernel,
                    amin,
                    amax,
                    unit,
                    overlap,
                    tau,
                    cal,
                )
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn config(
    levels: usize,
    channels: usize,
    patch: usize,
    n1: usize,
    d0: usize,
    m: Vec<usize>,
    k: Vec<f64>,
    sigma: Vec<f64>,
    kernel: usize,
    alpha_min: f64,
    alpha_max: f64,
    unit: bool,
    overlap: bool,
    decode_tau: f64,
    calibration_samples: usize,
) -> Config {
    use fsrgan::model::{Dictionary, OutputKernel};
    Config {
        name: "prop".into(),
        levels,
        channels,
        patch,
        n1,
        d0,
        m,
        k,
        sigma,
        kernel,
        alpha_min,
        alpha_max,
        dictionary: if unit {
            Dictionary::Unit
        } else {
            Dictionary::Orthonormal
        },
        output: if overlap {
            OutputKernel::Overlap
        } else {
            OutputKernel::Patch
        },
        decode_tau,
        calibration_samples,
        resolutions: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, max_shrink_iters: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_0001), ..ProptestConfig::default() })]
    /// Random configs: validation either accepts or names a known field; an
    /// accepted config generates (or names `k` as unreachable) and samples
    /// without panicking, with finite, non-negative codes.
    #[test]
    fn random_configs_never_panic(cfg in arb_config()) {
        match cfg.validated() {
            Err(e) => {
                let f = field_of(&e);
                prop_assert!(f.is_some_and(|f| FIELDS.contains(&f)), "{}", e);
            }
            Ok(cfg) => match Params::generate(&cfg, 1) {
                Err(e) => prop_assert_eq!(field_of(&e), Some("k"), "{}", e),
                Ok(p) => {
                    let b = Sampler::new(&p, 1).sample(0, 3);
                    for l in 0..cfg.levels {
                        prop_assert!(b.s[l].iter().all(|v| v.is_finite() && *v >= 0.0));
                        prop_assert!(b.x[l].iter().all(|v| v.is_finite()));
                    }
                }
            },
        }
    }
}
