//! PyTorch, given only `params.safetensors` and `z`, rebuilds every `x{l}` of a
//! dataset with `conv_transpose2d` (benches/peer/rebuild_torch.py), an
//! implementation independent of ours. Skipped (with a message) when
//! `scripts/setup.sh` has not made `.venv`.

mod common;

use fsrgan::io::dataset::{self, WriteOptions};
use fsrgan::io::{Dtype, Format};
use fsrgan::model::{Config, Params};

#[test]
fn pytorch_rebuilds_the_images_from_params_and_z() {
    let Some(python) = common::python() else {
        eprintln!("skipped: .venv/bin/python not set up (run scripts/setup.sh)");
        return;
    };
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/rebuild_torch.py");
    for (name, params_dtype) in [("small", Dtype::F64), ("paper", Dtype::F32)] {
        let p = Params::generate(&Config::preset(name).unwrap(), 4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let opts = WriteOptions {
            n: 64,
            seed: 4,
            hidden: true,
            params_dtype,
            format: Format::Npz,
            ..WriteOptions::default()
        };
        dataset::write(dir.path(), &p, &opts, |_| {}).unwrap();
        // Tolerance: z and x are stored in float32 (relative rounding 6e-8) and
        // each x is a sum of O(100) terms, so float64 torch agrees to ~1e-7;
        // 1e-5 is the interchange promise. A wrong file must fail it (below).
        let run = |dir: &std::path::Path| {
            std::process::Command::new(&python)
                .arg(&script)
                .arg(dir)
                .args(["--dtype", "float64", "--tol", "1e-5"])
                .output()
                .unwrap()
        };
        let out = run(dir.path());
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Negative: the params of another seed do not reproduce the images.
        let other = Params::generate(&Config::preset(name).unwrap(), 5).unwrap();
        fsrgan::io::params::write_params(
            &dir.path().join("params.safetensors"),
            &other,
            5,
            params_dtype,
        )
        .unwrap();
        assert!(
            !run(dir.path()).status.success(),
            "{name}: wrong params passed"
        );
    }
}
