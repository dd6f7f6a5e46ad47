//! The pair SWD of finished practice runs (issue 23): what the final row of
//! a run trained since it was added holds (`pair_swd{l}`,
//! `pair_swd{l}_floor`), computed by the same functions for runs trained
//! before, and written to `RUN/pairs.json` (which
//! `experiments/family/family.py table` reads).
//!
//!     cargo run --release --example family_pairs -- RUN_DIR [RUN_DIR ...]

use std::path::Path;

use fsrgan::io::Dataset;
use fsrgan::train::practice::PracticeGame;
use fsrgan::train::practice::family::Truths;
use fsrgan::train::practice::run::{
    GENERATOR, PracticeRun, final_pair_swd, fresh_sets, scored_samples,
};

fn pairs(run: &Path) -> anyhow::Result<()> {
    let cfg = PracticeRun::from_toml(&std::fs::read_to_string(run.join("config.toml"))?)?;
    let data = cfg
        .data
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{}: the config names no dataset", run.display()))?;
    let ds = Dataset::open(&data)?;
    let truths = Truths {
        main: ds.params.clone(),
        classes: ds.classes.clone(),
        domain_b: ds.domain_b.clone(),
    };
    let mut game = PracticeGame::new(&cfg.practice, &ds.params.config, tch::Device::Cpu)?;
    game.load(&run.join(GENERATOR))?;
    let domain_b = truths
        .domain_b
        .as_ref()
        .filter(|_| cfg.practice.method == fsrgan::train::practice::Method::Cyclegan);
    let fresh = fresh_sets(&cfg, &truths, domain_b)?;
    let (fake, _) = scored_samples(&game, cfg.eval, &fresh)?;
    let v = final_pair_swd(&cfg, &truths, &fake)?;
    let path = run.join("pairs.json");
    std::fs::write(&path, serde_json::to_string_pretty(&v)?)?;
    println!("{}: {v:?}", path.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    fsrgan::threads::set_compute_threads(1);
    for run in std::env::args().skip(1) {
        pairs(Path::new(&run))?;
    }
    Ok(())
}
