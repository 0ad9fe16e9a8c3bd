fn main() -> std::process::ExitCode {
    xdrguard::cli::main()
}
