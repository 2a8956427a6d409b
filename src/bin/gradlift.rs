//! The `gradlift` command-line tool (see `gradlift --help`).

fn main() -> std::process::ExitCode {
    gradlift::cli::main()
}
