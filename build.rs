//! Links libtorch for every binary and test when the `torch` feature is on
//! (torch-sys declares `links = "tch"` and exports `DEP_TCH_LIBTORCH_LIB`):
//!
//! - puts libtorch's directory into the RUNPATH, so they run without
//!   `LD_LIBRARY_PATH`;
//! - on Linux, when libtorch has CUDA (`libtorch_cuda.so`), links it with
//!   `--no-as-needed`: no symbol of it is referenced directly (it registers
//!   the CUDA backend when loaded), so the default `--as-needed` would drop
//!   it and `tch::Cuda::is_available()` would be false on a GPU machine. On
//!   a machine without a GPU the library loads and CUDA reports unavailable.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
        if linux && std::path::Path::new(&dir).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
