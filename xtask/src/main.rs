//! Project automation. Placeholder until the benchmarks land.
fn main() {
    eprintln!("usage: cargo xtask <command> (no commands yet)");
    std::process::exit(2);
}
