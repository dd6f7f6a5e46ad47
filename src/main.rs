fn main() -> std::process::ExitCode {
    fsrgan::cli::main()
}
