use std::process::ExitCode;

fn main() -> ExitCode {
    convergeai_alerts::cli::main()
}
