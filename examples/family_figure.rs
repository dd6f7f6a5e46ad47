//! `family.png` of `experiments/family/`: the patch SWD over its floor per
//! level, one bar group per method, one panel per preset, from the JSON that
//! `experiments/family/family.py table --json FILE` writes.
//!
//!     cargo run --release --example family_figure -- results/family.json results/family.png

use std::collections::BTreeMap;

use fsrgan::plot::{BarPanel, grouped_bars};

/// `{ run_dir: { method: { "swd_over_floor": [..] } } }`.
type Table = BTreeMap<String, BTreeMap<String, Method>>;

#[derive(serde::Deserialize)]
struct Method {
    swd_over_floor: Vec<Option<f64>>,
}

const ORDER: [&str; 14] = [
    "gan",
    "improved",
    "feature_matching",
    "minibatch",
    "historical",
    "smoothing",
    "vbn",
    "cgan",
    "infogan",
    "began",
    "vae",
    "pix2pix",
    "stackgan",
    "cyclegan",
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [json, png] = args.as_slice() else {
        anyhow::bail!("usage: family_figure RESULTS.json OUT.png");
    };
    let table: Table = serde_json::from_str(&std::fs::read_to_string(json)?)?;
    let mut levels = 0;
    let panels: Vec<BarPanel> = table
        .iter()
        .map(|(dir, methods)| {
            let mut names: Vec<&String> = methods.keys().collect();
            names.sort_by_key(|m| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len()));
            let groups = names
                .into_iter()
                .map(|m| {
                    let v = methods[m].swd_over_floor.clone();
                    levels = levels.max(v.len());
                    (m.clone(), v)
                })
                .collect();
            let title = std::path::Path::new(dir)
                .file_name()
                .map_or(dir.clone(), |f| f.to_string_lossy().into_owned());
            BarPanel { title, groups }
        })
        .collect();
    let series: Vec<String> = (1..=levels).map(|l| format!("level {l}")).collect();
    grouped_bars(
        std::path::Path::new(png),
        "the GAN family on FSR data: patch SWD / floor (mean over seeds)",
        &panels,
        &series,
        "SWD / floor",
        1.0,
    )?;
    println!("wrote {png}");
    Ok(())
}
