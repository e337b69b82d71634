//! Shared helpers of the criterion benchmarks of native streams.
//!
//! The benchmark targets live in `benches/`:
//!
//! * `events`: one activate → wake round trip between two threads for each event backend
//!   (`Spin`, `Futex`, `Listener`), beside a raw spin and a raw futex ping-pong and a
//!   ping-pong over each channel peer of [`ROUND_TRIP_ROWS`] (group `events_round_trip`).
//! * `stream`: one-element round trips through two streams (`stream_round_trip`), bytes
//!   through 64 KiB lent buffers (`stream_bulk_u8`) and `u64`s through 1024-element lent
//!   buffers (`stream_bulk_u64`), each beside crossbeam-channel, kanal, flume,
//!   `std::sync::mpsc`, rtrb and a floor that has no second thread or no stream at all.
//! * `future`: one-element futures of `stream-future` per backend beside the `oneshot` crate,
//!   `tokio::sync::oneshot` and `futures::channel::oneshot` (group `future`, functions
//!   `create_send_recv` on one thread, `pipelined` with the value there before the receiver
//!   looks, and `reader_waiting` with the receiver already blocked; the target's docs say
//!   how each is measured).
//! * `stream` also has `stream_write_slice`: `write_slice` of 64 KiB into a `ReadAhead`, from
//!   a page-aligned source and from an unaligned `Vec`, beside four recycled blocks over
//!   crossbeam `bounded(4)` and std `sync_channel(4)` ([`WRITE_SLICE_ROWS`]).
//! * `programs`: small programs as users write them, with the plain API on both sides
//!   (`PROGRAM_ROWS`: serde_json, `writeln!` to `lines()`, `send` to `for x in reader`,
//!   tokio-util framed lines), each beside its alternative (`UnixStream::pair`, channels of
//!   capacity 1024, `tokio::io::duplex`); needs `current-api`.
//!
//! # Running
//!
//! ```text
//! # Everything side by side, quick, with a table of ratios and targets
//! # (target/bench-report.md; `--help` for the options):
//! cargo xtask bench
//! # Everything, with criterion's defaults:
//! cargo bench -p benches
//! # A quick pass (a few seconds per row):
//! cargo bench -p benches --bench stream -- --warm-up-time 0.5 --measurement-time 2 --sample-size 10
//! # The full-size bulk run:
//! NATIVE_STREAM_BENCH_BYTES=1Gi cargo bench -p benches --bench stream -- stream_bulk_u8
//! # Ratios with every row run in turn, round by round (what `cargo xtask bench` decides by):
//! cargo run --release -p benches --example interleaved -- bulk 15
//! # Where the time of a bulk row goes, per 64 KiB block and side:
//! cargo run --release -p benches --example bulk_breakdown
//! ```
//!
//! Environment variables (read by the `stream` target; a plain number or one with a `K`,
//! `M`, `G` suffix, binary, optionally followed by `i` or `iB`: `64Mi`, `1G`, `4096`):
//!
//! * `NATIVE_STREAM_BENCH_BYTES`: bytes moved per iteration of `stream_bulk_u8`
//!   (default [`DEFAULT_BULK_BYTES`], 64 MiB; 1 GiB is the reference size).
//! * `NATIVE_STREAM_BENCH_ELEMS`: `u64`s moved per iteration of `stream_bulk_u64`
//!   (default [`DEFAULT_BULK_ELEMS`], 16 Mi).
//!
//! # Method
//!
//! * Two-thread rows run in [`two_threads`]: criterion's thread is the timed side (the side
//!   that finishes last: the one that receives the last reply, or the reader), the partner is
//!   a scoped thread, and both start together at a [`Gate`] after every allocation is done.
//!   Each criterion sample makes its own streams and channels, so no state leaks between
//!   samples.
//! * Every row checks its data while it is timed, the same way for every row of a group:
//!   round trips check every reply (the partner answers `i + 1` to `i`); bulk rows check the
//!   position of the first and last element of every chunk received and a checksum of every
//!   byte or element ([`ByteCheck`], [`U64Check`]), and assert the total count and checksum at
//!   the end.
//! * Bulk byte data is [`BytePattern`]: seven distinct pseudo-random 64 KiB blocks in turn, so a
//!   reader that saw a stale buffer (last round's block) fails its check.
//! * Every bulk copy is between buffers at the same offset within a page ([`AlignedBlock`]
//!   says why: on some machines a bad relative placement costs 15× in `memcpy`).
//!
//! # Features
//!
//! * `current-api` (default): the rows that need this revision's newest library API
//!   (`BatchWriter`, `AsyncWriter` as a `Sink`, stream-async's `tokio` feature): the
//!   batching and tokio rows of the interleaved example, and the program rows.
//!   `cargo xtask bench --baseline REV` builds this crate without it against older
//!   revisions' libraries.
//!
//! # Layout
//!
//! Every item is public at the crate root; the modules only sort them by group: `threads`
//! ([`Gate`], [`two_threads`]), `ping_pong` (`events_round_trip` and the futex floor of
//! `future/reader_waiting`), `round_trip`
//! (the round-trip rows, defined once: [`RoundTripRow`]), `disturbed` (a round trip whose
//! partner stops now and then: [`Disturbed`]), `bulk_u8` and `bulk_u64`
//! (`stream_bulk_u8`, `stream_bulk_u64`), `load` (the busy profiles: busy processes or
//! threads, and context switches), `async_tokio` (elements between two tasks of
//! a tokio runtime), `batched` (the writer that batches by hand), `breakdown` (the `bulk_breakdown` example's laps),
//! `bulk_rows` (the bulk rows, defined once: [`BulkU8Row`], [`BulkU64Row`]), `write_slice`
//! (`stream_write_slice` and the recycled-block peers), `programs` and `programs_tokio` (the
//! program rows, defined once: `ProgramRow`), `async_bulk` (`async_bulk_u8`), `pipelined` (rtrb rings and `future/pipelined`), `block`
//! ([`AlignedBlock`] and the copies into uninitialised memory) and `check` (the byte pattern
//! and the readers' checks). This file holds the bulk sizes and [`env_amount`], the only
//! place that reads the environment; it touches nothing else.

mod async_bulk;
mod async_round_trip;
#[cfg(feature = "current-api")]
mod async_tokio;
#[cfg(all(feature = "current-api", target_os = "linux"))]
mod batched;
mod block;
mod breakdown;
mod bulk_rows;
mod bulk_u64;
mod bulk_u8;
mod check;
mod disturbed;
mod future_rows;
#[cfg(target_os = "linux")]
mod load;
mod ping_pong;
mod pipelined;
#[cfg(feature = "current-api")]
mod programs;
#[cfg(feature = "current-api")]
mod programs_tokio;
mod roles;
mod round_trip;
mod threads;
mod write_slice;

pub use async_bulk::{bulk_async, ReadMode};
pub use async_round_trip::{AsyncRoundTripRow, Executor, ASYNC_ROUND_TRIP_ROWS};
#[cfg(feature = "current-api")]
pub use async_tokio::{async_elements, AsyncRow, Runtime, ASYNC_CAPACITY, ASYNC_ROWS};
#[cfg(all(feature = "current-api", target_os = "linux"))]
pub use batched::bulk_u8_batched;
pub use block::{assume_init, copy_to_uninit, AlignedBlock, PAGE};
pub use breakdown::{bulk_u8_breakdown, BulkLaps, BulkRow, Laps, Stopwatch};
pub use bulk_rows::{
    bulk_u8_memcpy, bulk_u8_rtrb, BulkU64Row, BulkU8Row, BULK_U64_ROWS, BULK_U8_ROWS,
    WRITE_SLICE_ROWS,
};
pub use bulk_u64::{bulk_u64_native, bulk_u64_one_by_one, bulk_u64_rtrb, U64_BATCH};
pub use bulk_u8::{
    bulk_u8_crossbeam, bulk_u8_crossbeam_copy, bulk_u8_read_ahead, bulk_u8_stream, CROSSBEAM_POOL,
};
use check::PATTERN_BLOCKS;
pub use check::{byte_sum, ByteCheck, BytePattern, U64Check};
pub use disturbed::{Disturbance, Disturbed, RECOVERY_WINDOW};
pub use future_rows::{create_send_recv_box, pipelined_queue_only, FutureRow, FUTURE_ROWS};
#[cfg(target_os = "linux")]
pub use load::{burn_if_asked, context_switches, Load, LoadKind, BURN_ARG};
#[cfg(target_os = "linux")]
pub use ping_pong::RawFutex;
pub use ping_pong::{ping_pong, settle_cpus, EventSignal, RawSpin, Side, Signal};
pub use pipelined::{pipelined_box, pipelined_ring, pop_spin, push_spin, PIPELINE};
#[cfg(feature = "current-api")]
pub use programs::{
    json_document, program_groups, Carrier, ProgramRow, ELEMENTS, FRAMED_LINES, LINES,
    PROGRAM_ROWS, SEND_CAPACITY,
};
#[cfg(feature = "current-api")]
pub use programs_tokio::{framed_lines, FRAMED_CAPACITY};
pub use roles::{role_of, Role, ROLES_CSV};
pub use round_trip::{
    crossbeam_round_trips, round_trip_native, round_trips, Drive, NativeBackend, RoundTripRow,
    Timed, ROUND_TRIP_ROWS,
};
pub use threads::{two_threads, Gate};
pub use write_slice::{
    bulk_u8_recycled, bulk_u8_write_slice, BlockChannel, WriteSource, RECYCLED_POOL,
};

/// Default for `NATIVE_STREAM_BENCH_BYTES`: 64 MiB per iteration of `stream_bulk_u8`.
pub const DEFAULT_BULK_BYTES: u64 = 64 << 20;

/// Default for `NATIVE_STREAM_BENCH_ELEMS`: 16 Mi `u64`s per iteration of `stream_bulk_u64`.
pub const DEFAULT_BULK_ELEMS: u64 = 16 << 20;

/// Size of a lent buffer, a channel's `Vec`, the rtrb ring and a pattern block in the byte
/// benchmarks: 64 KiB.
pub const BLOCK: usize = 64 * 1024;

/// Reads an amount from environment variable `name`, or returns `default` when it is unset.
///
/// Accepts a plain number or one with a binary `K`, `M` or `G` suffix, optionally followed by
/// `i` or `iB` (`64Mi`, `1G`, `4096`).
///
/// # Panics
///
/// When the variable is set but is not such an amount, or is zero.
pub fn env_amount(name: &str, default: u64) -> u64 {
    let Ok(text) = std::env::var(name) else {
        return default;
    };
    let amount = parse_amount(&text)
        .unwrap_or_else(|| panic!("{name}={text:?}: expected an amount such as 4096, 64Mi, 1G"));
    assert!(amount > 0, "{name} must not be zero");
    amount
}

fn parse_amount(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix('i'))
        .unwrap_or(text);
    let (digits, shift) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 10),
        b'm' | b'M' => (&text[..text.len() - 1], 20),
        b'g' | b'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value: u64 = digits.trim().parse().ok()?;
    value.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount("4096"), Some(4096));
        assert_eq!(parse_amount("64Mi"), Some(64 << 20));
        assert_eq!(parse_amount("1G"), Some(1 << 30));
        assert_eq!(parse_amount("2KiB"), Some(2048));
        assert_eq!(parse_amount("x"), None);
        assert_eq!(parse_amount(""), None);
    }
}
