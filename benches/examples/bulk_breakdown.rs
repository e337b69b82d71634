//! Where the time of a `stream_bulk_u8` row goes: each side's time split, block by block, into
//! waiting for a 64 KiB block and working on it (the writer copies into it, the reader checks
//! it, or copies it out and checks its copy).
//!
//! The rows that `stream_bulk_u8` compares all move the same bytes between the same two
//! threads, so their ratios depend on which side bounds each row and on what a block costs
//! that side, and both depend on where the host puts the two vCPUs. This example shows both,
//! for the native `ReadAhead` row and crossbeam's in-place and copy-out rows, run in turn
//! (one round each, then the next round):
//!
//! * the side that bounds a row is the one that hardly waits (its work per block is the
//!   row's time per block);
//! * the work of the writer is one copy into memory the reader has just read (the buffer it
//!   lent back or the block it returned), which costs more than a local copy of the same
//!   bytes: every line has to leave the reader's cache first;
//! * `crossbeam_recycled` does what a stream does, one copy per byte, so its ratio to
//!   `crossbeam_recycled_copy` (its `x` column; `cargo xtask bench` calls it the one-copy
//!   ceiling) is what removing crossbeam's second copy is worth on this host at that moment.
//!   The native row's ratio stays close to it, below 1.3 as well as above.
//!
//! Run: `cargo run --release -p benches --example bulk_breakdown -- [ROUNDS]` (5 by default;
//! 64 MiB per row and round, spin backend).

use std::time::Duration;

use benches::{bulk_u8_breakdown, BulkLaps, BulkRow, BytePattern, Stopwatch};
use stream_events::Spin;

const BYTES: u64 = 64 << 20;

fn gib_s(laps: &BulkLaps<Stopwatch>) -> f64 {
    BYTES as f64 / laps.elapsed.as_secs_f64() / f64::from(1u32 << 30)
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(5, |s| s.parse().expect("rounds: a number"));
    let pattern = BytePattern::new();
    let rows = [
        ("read_ahead", BulkRow::ReadAhead),
        ("crossbeam_recycled", BulkRow::CrossbeamInPlace),
        ("crossbeam_recycled_copy", BulkRow::CrossbeamCopy),
    ];
    println!(
        "per 64 KiB block, in ns: reader wait / work, writer wait / work; \
         ratios to crossbeam_recycled_copy"
    );
    for round in 1..=rounds {
        let laps: Vec<_> = rows
            .iter()
            .map(|&(_, row)| bulk_u8_breakdown::<Spin>(&pattern, BYTES, row))
            .collect();
        let copy = gib_s(&laps[2]);
        println!("round {round}");
        for ((name, _), l) in rows.iter().zip(&laps) {
            println!(
                "  {name:24} {:6.2} GiB/s {:5.2}x   reader {:6.0} / {:6.0}   writer {:6.0} / {:6.0}",
                gib_s(l),
                gib_s(l) / copy,
                ns(l.reader.wait_per_block()),
                ns(l.reader.work_per_block()),
                ns(l.writer.wait_per_block()),
                ns(l.writer.work_per_block()),
            );
            assert_eq!(l.reader.blocks(), BYTES / benches::BLOCK as u64);
        }
    }
}
