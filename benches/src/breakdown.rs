//! Where a `stream_bulk_u8` row's time goes, for the `bulk_breakdown` example: [`Laps`] that
//! split each side's time into waiting for a block and working on it, the [`Stopwatch`] that
//! sums them, and [`bulk_u8_breakdown`], which runs a row's own loop with them.
//!
//! May touch: the clock; the rows it runs make their own blocks, channels, streams and
//! partner thread.

use std::time::{Duration, Instant};

use stream_events::Backend;

use crate::bulk_u8::{bulk_u8_crossbeam_laps, bulk_u8_native_laps};
use crate::BytePattern;

/// A row of [`bulk_u8_breakdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkRow {
    /// [`bulk_u8_read_ahead`](crate::bulk_u8_read_ahead).
    ReadAhead,
    /// [`bulk_u8_stream`](crate::bulk_u8_stream).
    OneBuffer,
    /// [`bulk_u8_crossbeam`](crate::bulk_u8_crossbeam).
    CrossbeamInPlace,
    /// [`bulk_u8_crossbeam_copy`](crate::bulk_u8_crossbeam_copy).
    CrossbeamCopy,
}

/// Runs one `stream_bulk_u8` row (the native ones with backend `B`) with each side's time
/// split into waiting for a block and working on it: where a row's time goes, block by block,
/// for the `bulk_breakdown` example.
///
/// The rows run the same loops as the benches: those instantiate them with laps that do
/// nothing, this with [`Stopwatch`] laps (two clock reads per 64 KiB block and side).
pub fn bulk_u8_breakdown<B: Backend>(
    pattern: &BytePattern,
    total: u64,
    row: BulkRow,
) -> BulkLaps<Stopwatch> {
    match row {
        BulkRow::ReadAhead => bulk_u8_native_laps::<B, _>(pattern, total, true),
        BulkRow::OneBuffer => bulk_u8_native_laps::<B, _>(pattern, total, false),
        BulkRow::CrossbeamInPlace => bulk_u8_crossbeam_laps(pattern, total, false),
        BulkRow::CrossbeamCopy => bulk_u8_crossbeam_laps(pattern, total, true),
    }
}

/// A bulk row's time (the reader's, as the benches time it) and each side's [`Laps`].
#[derive(Debug)]
pub struct BulkLaps<L> {
    /// From the gate to the reader's end of stream.
    pub elapsed: Duration,
    /// The reader's laps.
    pub reader: L,
    /// The writer's laps.
    pub writer: L,
}

/// Splits one side of a bulk row into waiting for each block and working on it.
///
/// The bulk loops call [`start`](Laps::start) at the gate, then for each block
/// [`waited`](Laps::waited) when the block is theirs and [`worked`](Laps::worked) when they
/// are done with it. The benches use `()`, which does nothing (and compiles to nothing).
pub trait Laps: Default + Send {
    /// The side leaves the gate.
    fn start(&mut self);
    /// The wait for a block ends; the work on it starts.
    fn waited(&mut self);
    /// The work on a block ends; the wait for the next starts.
    fn worked(&mut self);
}

impl Laps for () {
    #[inline(always)]
    fn start(&mut self) {}
    #[inline(always)]
    fn waited(&mut self) {}
    #[inline(always)]
    fn worked(&mut self) {}
}

/// [`Laps`] that sum the time spent waiting and working, and count the blocks.
#[derive(Debug, Default)]
pub struct Stopwatch {
    last: Option<Instant>,
    wait: Duration,
    work: Duration,
    blocks: u64,
}

impl Stopwatch {
    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let lap = self.last.map_or(Duration::ZERO, |last| now - last);
        self.last = Some(now);
        lap
    }

    /// Mean wait per block.
    pub fn wait_per_block(&self) -> Duration {
        self.wait / self.blocks.max(1) as u32
    }

    /// Mean work per block.
    pub fn work_per_block(&self) -> Duration {
        self.work / self.blocks.max(1) as u32
    }

    /// Blocks worked on.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }
}

impl Laps for Stopwatch {
    fn start(&mut self) {
        self.lap();
    }

    fn waited(&mut self) {
        let lap = self.lap();
        self.wait += lap;
    }

    fn worked(&mut self) {
        let lap = self.lap();
        self.work += lap;
        self.blocks += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BLOCK;

    #[test]
    fn breakdown_laps_every_block_of_every_row() {
        let pattern = BytePattern::new();
        // Ten and a half blocks: the last one is short.
        let total = 10 * BLOCK as u64 + BLOCK as u64 / 2;
        for row in [
            BulkRow::ReadAhead,
            BulkRow::OneBuffer,
            BulkRow::CrossbeamInPlace,
            BulkRow::CrossbeamCopy,
        ] {
            // The rows check every byte themselves (and panic on a wrong one).
            let laps = bulk_u8_breakdown::<stream_events::Spin>(&pattern, total, row);
            assert_eq!(laps.reader.blocks(), 11, "{row:?}");
            assert_eq!(laps.writer.blocks(), 11, "{row:?}");
            let reader_time = laps.reader.wait + laps.reader.work;
            assert!(reader_time > Duration::ZERO, "{row:?}");
            // The reader's laps cover its timed region, up to its last lap.
            assert!(reader_time <= laps.elapsed, "{row:?}: {laps:?}");
        }
    }

    #[test]
    fn stopwatch_splits_waits_from_work() {
        let mut watch = Stopwatch::default();
        watch.start();
        std::thread::sleep(Duration::from_millis(2));
        watch.waited();
        watch.worked();
        assert_eq!(watch.blocks(), 1);
        assert!(watch.wait_per_block() >= Duration::from_millis(2));
        assert!(watch.work_per_block() < watch.wait_per_block());
    }
}
