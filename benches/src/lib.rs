//! Criterion benchmarks of native streams (the benchmark targets live in `benches/`).
