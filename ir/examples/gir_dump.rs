//! Prints random graphs (`cargo run -p gradlift-ir --example gir_dump -- SEED [COUNT]`).
use gradlift_ir::random_graph::{random_function, GraphConfig};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let seed = args.first().copied().unwrap_or(0);
    let count = args.get(1).copied().unwrap_or(1);
    for s in seed..seed + count {
        print!("{}", random_function(s, &GraphConfig::default()));
    }
}
