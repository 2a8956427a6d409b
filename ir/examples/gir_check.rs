//! Parses a `.gir` file and prints it back, or the error
//! (`cargo run -p gradlift-ir --example gir_check -- FILE`).
fn main() {
    for path in std::env::args().skip(1) {
        let src = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        match gradlift_ir::text::parse_module(&src, &path) {
            Ok(m) => print!("{m}"),
            Err(e) => println!("{e}"),
        }
    }
}
