//! The pytest suite of the Python package (`python/tests`), run by `cargo test`
//! so the README's test command covers it: installs the package into `.venv`
//! first if its sources changed since the last install (`python/build.sh`,
//! which `scripts/setup.sh` also runs), then runs
//! `.venv/bin/python -m pytest python/tests -q` with `FSRGAN_BIN` set to this
//! build's `fsrgan` binary, and fails if pytest fails.

use std::path::Path;
use std::process::Command;

#[test]
fn pytest_suite_of_the_python_package() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/setup.sh",
        python.display()
    );
    let build = Command::new(root.join("python/build.sh"))
        .current_dir(root)
        .status()
        .expect("running python/build.sh");
    assert!(
        build.success(),
        "python/build.sh failed: the Python package could not be built"
    );
    let out = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "python/tests",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .env("FSRGAN_BIN", env!("CARGO_BIN_EXE_fsrgan"))
        .current_dir(root)
        .output()
        .expect("running pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "pytest failed (status {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    assert!(
        !stdout.contains(" skipped"),
        "pytest skipped tests under cargo test:\n{stdout}"
    );
}
