//! Puts libtorch's directory into the RUNPATH of every binary and test when
//! the `torch` feature is on, so they run without `LD_LIBRARY_PATH`
//! (torch-sys declares `links = "tch"` and exports `DEP_TCH_LIBTORCH_LIB`).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
