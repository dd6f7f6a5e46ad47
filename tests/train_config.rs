//! The training config's limits and read fields (`train::limits`): every
//! size over its ceiling, or over the machine's memory, is refused at
//! validation naming the field, before anything is allocated; every field a
//! config sets that the chosen discriminator or stage never reads is refused
//! naming it, for every discriminator kind; the fields each kind reads are
//! accepted; a run's own spelled-out `config.toml` reads back.
#![cfg(feature = "torch")]

use fsrgan::train::limits::{MAX_BATCH, MAX_CANDIDATES, MAX_HIDDEN, MAX_N_D, MAX_SAMPLES};
use fsrgan::train::{TrainConfig, TrainError};

/// The field named by the error of `text`, or `None` when it is valid.
fn refused_field(text: &str) -> Option<(String, String)> {
    match TrainConfig::from_toml(text) {
        Ok(_) => None,
        Err(TrainError::InvalidConfig { field, rule }) => Some((field, rule)),
        Err(e) => panic!("{text}: not a config error: {e}"),
    }
}

fn assert_refused(text: &str, field: &str) {
    match refused_field(text) {
        Some((f, rule)) => assert_eq!(f, field, "{text}: wrong field named ({rule})"),
        None => panic!("{text}: accepted, but `{field}` should be refused"),
    }
}

fn assert_accepted(text: &str) {
    if let Some((f, rule)) = refused_field(text) {
        panic!("{text}: refused `{f}`: {rule}");
    }
}

/// The hostile sizes of the input review: each returned a panic inside
/// libtorch, a segfault or an hour-long hang before the ceilings.
#[test]
fn sizes_over_their_ceilings_are_refused_before_anything_runs() {
    let huge = 100_000_000_000usize;
    for (text, field) in [
        (format!("batch = {huge}"), "batch"),
        (format!("eval_batch = {huge}"), "eval_batch"),
        (format!("final_eval = {huge}"), "final_eval"),
        (format!("real_samples = {huge}"), "real_samples"),
        (format!("samples = {huge}"), "samples"),
        (format!("heldout = {huge}"), "heldout"),
        (format!("[superres]\nbatch = {huge}"), "superres.batch"),
        ("[superres]\nhidden = 1000000000".into(), "superres.hidden"),
        (
            "[superres]\ncandidates = 1000000\nsteps = 5\nselect_after = 1".into(),
            "superres.candidates",
        ),
        ("[superres]\nn_d = 1000000000".into(), "superres.n_d"),
        (format!("[dictionary]\nsteps = {huge}"), "dictionary.steps"),
    ] {
        assert_refused(&format!("preset = \"tiny\"\n{text}"), field);
    }
    assert_refused(
        &format!("preset = \"tiny:moments\"\nwarm_samples = {huge}"),
        "warm_samples",
    );
    // The ceilings themselves are allowed (where the memory bound allows).
    for text in [
        format!("[superres]\ncandidates = {MAX_CANDIDATES}\nselect_after = 10"),
        format!("[superres]\nn_d = {MAX_N_D}"),
        format!("[superres]\nhidden = {MAX_HIDDEN}"),
        format!("eval_batch = {}", MAX_BATCH / 64),
    ] {
        assert_accepted(&format!("preset = \"tiny\"\n{text}"));
    }
    for (text, field) in [
        (
            format!(
                "[superres]\ncandidates = {}\nselect_after = 10",
                MAX_CANDIDATES + 1
            ),
            "superres.candidates",
        ),
        (format!("[superres]\nn_d = {}", MAX_N_D + 1), "superres.n_d"),
        (
            format!("[superres]\nhidden = {}", MAX_HIDDEN + 1),
            "superres.hidden",
        ),
        (format!("batch = {}", MAX_BATCH + 1), "batch"),
        (format!("final_eval = {}", MAX_SAMPLES + 1), "final_eval"),
    ] {
        assert_refused(&format!("preset = \"tiny\"\n{text}"), field);
    }
}

/// Under its ceiling but beyond the machine: `paper`'s final evaluation of
/// 2^24 samples holds at least 2^24 * 4 * f bytes, f ~ 10^4 floats a sample,
/// about a petabyte, so wherever the memory is known it is refused naming
/// the field and the machine's memory.
#[test]
fn a_size_beyond_the_machines_memory_is_refused() {
    let Some(memory) = fsrgan::machine::memory_bytes() else {
        eprintln!("the machine's memory is unknown here: only the ceilings apply");
        return;
    };
    assert!(memory < 1 << 50, "a machine of a petabyte? {memory}");
    let text = format!("preset = \"paper\"\nfinal_eval = {MAX_SAMPLES}");
    let (field, rule) = refused_field(&text).expect("refused");
    assert_eq!(field, "final_eval");
    assert!(rule.contains("this machine's"), "{rule}");
    // The preset itself fits.
    assert_accepted("preset = \"paper\"");
}

/// For each discriminator kind, a field it never reads is refused, naming
/// it; the fields it reads are accepted.
#[test]
fn every_field_a_discriminator_does_not_read_is_refused() {
    // disc = "closed" (the GAN default of dict1 and level1).
    for (text, field) in [
        ("[dictionary]\ngamma = 1e308", "dictionary.gamma"),
        ("[dictionary]\nn_d = 3", "dictionary.n_d"),
        ("[level1]\nupdate = \"simultaneous\"", "level1.update"),
        ("[level1]\nhidden = 8", "level1.hidden"),
        ("[dictionary]\nloss = \"minimax\"", "dictionary.loss"),
        (
            "[dictionary]\ninverse_variance = true",
            "dictionary.inverse_variance",
        ),
    ] {
        assert_refused(&format!("preset = \"tiny\"\n{text}"), field);
    }
    assert_accepted("preset = \"tiny\"\n[level1]\ninverse_variance = true\nlr_d = 0.5");
    // disc = "witness" (the GAN default of the super-resolution stages).
    for (text, field) in [
        ("[superres]\nloss = \"minimax\"", "superres.loss"),
        ("[superres]\nloss = \"non_saturating\"", "superres.loss"),
        ("[superres]\nupdate = \"simultaneous\"", "superres.update"),
        (
            "[superres]\ninverse_variance = true",
            "superres.inverse_variance",
        ),
    ] {
        assert_refused(&format!("preset = \"tiny\"\n{text}"), field);
    }
    assert_accepted(
        "preset = \"tiny\"\n[superres]\ngamma = 2.0\nn_d = 2\nhidden = 32\nlr_d = 0.02",
    );
    // disc = "ascent" (the moments baseline): it reads loss, update, n_d, gamma.
    for (text, field) in [
        ("[level1]\nhidden = 8", "level1.hidden"),
        (
            "[level1]\ninverse_variance = true",
            "level1.inverse_variance",
        ),
        (
            "[dictionary]\nupdate = \"simultaneous\"\nn_d = 2",
            "dictionary.n_d",
        ),
        ("[dictionary]\nbeta1 = 0.9", "dictionary.beta1"),
    ] {
        assert_refused(&format!("preset = \"tiny:moments\"\n{text}"), field);
    }
    assert_accepted(
        "preset = \"tiny:moments\"\nwarm_samples = 5000\n[level1]\nloss = \"minimax\"\ngamma = 0.5\nn_d = 2\nupdate = \"alternating\"",
    );
    // No discriminator at all (adversarial = 0: the supervised baseline).
    for (text, field) in [
        ("[superres]\nn_d = 2", "superres.n_d"),
        ("[superres]\ngamma = 2.0", "superres.gamma"),
        ("[superres]\nlr_d = 0.5", "superres.lr_d"),
        ("[superres]\nhidden = 16", "superres.hidden"),
    ] {
        assert_refused(&format!("preset = \"tiny:supervised\"\n{text}"), field);
    }
    // One start: no trial to size.
    assert_refused(
        "preset = \"tiny\"\n[dictionary]\nselect_after = 10",
        "dictionary.select_after",
    );
}

/// Run fields that the resolved config never reads are refused too.
#[test]
fn run_fields_that_are_never_read_are_refused() {
    for (text, field) in [
        ("preset = \"tiny\"\nwarm_samples = 5000", "warm_samples"),
        (
            "preset = \"tiny:moments\"\nreal_samples = 5000",
            "real_samples",
        ),
        (
            "preset = \"tiny\"\ndata = \"oracle\"\nsamples = 5000",
            "samples",
        ),
        (
            "preset = \"tiny\"\ndata = \"oracle\"\nheldout = 50",
            "heldout",
        ),
        (
            "preset = \"tiny\"\ndataset = \"/tmp/x.npz\"\nsamples = 5000",
            "samples",
        ),
    ] {
        assert_refused(text, field);
    }
    assert_accepted("preset = \"tiny\"\nreal_samples = 5000\nsamples = 5000\nheldout = 100");
}

/// A run's `config.toml` spells out every field, read or not: it reads back
/// (to the same config) through `from_stored_toml`, which the resume and the
/// report use, and the GAN default's through `from_toml` too.
#[test]
fn a_runs_spelled_out_config_reads_back() {
    for name in ["tiny", "small", "paper", "tiny:moments", "tiny:supervised"] {
        let cfg = TrainConfig::named(name).unwrap();
        let back = TrainConfig::from_stored_toml(&cfg.to_toml()).unwrap();
        assert_eq!(back, cfg, "{name}");
    }
    // Reused as a config, the GAN default's spells its unread keys at the
    // preset's values: accepted as the same config.
    let tiny = TrainConfig::named("tiny").unwrap();
    assert_eq!(TrainConfig::from_toml(&tiny.to_toml()).unwrap(), tiny);
}
