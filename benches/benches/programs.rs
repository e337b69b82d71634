//! Small programs as a user writes them, each through a native stream and beside what it would
//! use otherwise: the rows of [`PROGRAM_ROWS`], one group per program. One iteration is one run
//! of the program (both sides started, every element or line checked by the reader).
//!
//! * `program_serde_json`: unbuffered `serde_json::to_writer` of a 219 KB document, read with
//!   unbuffered `serde_json::from_reader` and compared: `native` (a `Writer<u8>` and a
//!   `Reader<u8>` through `std::io`), `unix_stream` (`UnixStream::pair`).
//! * `program_lines`: 100 000 unbuffered `writeln!`s, read with `BufReader::new(..).lines()`:
//!   `native`, `unix_stream`.
//! * `program_send`: 200 000 `u64`s, one `send` each, read with `for x in ..`: `native`,
//!   `sync_channel1024`, `crossbeam_bounded1024`.
//! * `program_framed_current_thread`, `program_framed_multi_thread`: 50 000 lines through
//!   tokio-util's `FramedWrite<_, LinesCodec>::send` and `FramedRead`, on a current-thread or a
//!   two-worker runtime: `native` (`AsyncWriter<u8>`/`AsyncReader<u8>` as tokio's
//!   `AsyncWrite`/`AsyncRead`, 64 KiB reader buffer), `tokio_duplex64k`
//!   (`tokio::io::duplex(64 KiB)`).
//!
//! Run: `cargo bench -p benches --bench programs`.

use benches::{program_groups, PROGRAM_ROWS};
use criterion::{Criterion, SamplingMode};

fn programs(c: &mut Criterion) {
    debug_assert!(!PROGRAM_ROWS.is_empty());
    for (name, rows) in program_groups() {
        let mut group = c.benchmark_group(name);
        // An iteration takes milliseconds to a second: keep the iteration count per sample flat.
        group.sampling_mode(SamplingMode::Flat);
        for row in rows {
            group.bench_function(row.name(), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| row.time()).sum())
            });
        }
        group.finish();
    }
}

// `criterion_group!` makes an undocumented `pub fn`, which the workspace lints reject; this is
// what it and `criterion_main!` expand to.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    programs(&mut criterion);
    criterion.final_summary();
}
