//! Ratios of two-thread rows measured interleaved: each round runs every row once, and the
//! ratio of a row to a reference is taken within the round, then the median over rounds.
//!
//! On a shared 2-core machine a two-thread row can swing 2-4x from one minute to the next
//! (where the scheduler puts the threads), which criterion's one-row-after-another runs turn
//! into noise in the ratios. Interleaving puts every row in the same conditions, round by
//! round; criterion (`cargo xtask bench`) stays the reference for absolute figures.
//!
//! Run: `cargo run --release -p benches --example interleaved -- [GROUP[,GROUP...]] [ROUNDS]
//! [--csv PATH] [--load KIND] [--native] [--csw] [--every N] [--trips N]` (every group but
//! `floors`, `disturbed` and `async_elements`, and 40 rounds, by default). Options:
//!
//! * `--csv PATH`: also writes `group,row,median,unit,reference,ratio,slowest` lines there,
//!   as `cargo xtask bench` does: each row's median, its median ratio to each reference
//!   (a row without references: one line, its ratio to itself) and its slowest round.
//! * `--load KIND`: runs every group while the machine is busy (Linux): `quiet` (the
//!   default), `processes:N` (N busy processes started for the run) or `threads:N` (N busy
//!   threads spinning through the run); see [`benches::Load`]. Rows that never yield their
//!   CPU (`raw_spin`) are left out then: each hand-off would wait for a time slice.
//! * `--csw` (Linux): also each row's context switches (voluntary and involuntary,
//!   `getrusage`; a load's busy threads left out) per transfer (round trip, 64 KiB block,
//!   element, future; per run for `programs`), as groups `GROUP/csw` with the same ratios:
//!   what `cargo xtask bench --profile busy-processes,busy-loops` judges beside the figures.
//! * `--native`: only the rows of ours (what `cargo xtask bench --baseline` compares): those
//!   whose role is `native` in `benches/roles.csv`.
//! * `--list`: prints `benches/roles.csv` (`group,row,role` of every row the bench reports)
//!   and exits.
//! * `--every N`: the hand-offs between two stops of the `disturbed` group (default 500).
//! * `--trips N`: round trips per row and round of `floors`, `events` and `round_trip` (and a
//!   fifth of it for `async_round_trip`)
//!   (default 10,000; `cargo xtask bench` gives 1,000 under a load, where a channel that
//!   spins before it parks can take milliseconds a round trip).
//!
//! Groups:
//!
//! * `floors`: what the machine gives two threads: 10,000 round trips of a futex ping-pong
//!   (`raw_futex`: each side parks on the futex and wakes the other) and of a cache-line
//!   ping-pong (`raw_spin`: both spin on one atomic), per row and round.
//! * `events`: 10,000 activate -> wake round trips per row and round
//!   ([`benches::ping_pong`]), against both threads spinning on one word (`raw_spin`) and
//!   each channel peer of [`ROUND_TRIP_ROWS`].
//! * `round_trip`: 10,000 one-element round trips per row and round, every row of
//!   [`ROUND_TRIP_ROWS`]: the native streams against every channel peer.
//! * `disturbed`: the rows of `round_trip`, 20,000 round trips per row and round, the partner
//!   stopping for 1 ms every `--every` hand-offs ([`benches::Disturbed`]): the median round
//!   trip (group `disturbed/stream_round_trip`) and the hand-offs after a stop until the round
//!   trips are back at that median (`disturbed/stream_round_trip/recovery`,
//!   [`benches::Disturbance`]).
//! * `bulk`: 64 MiB of bytes per row and round, against crossbeam's recycled blocks copied
//!   out by the reader (`crossbeam_recycled_copy`) and checked in place
//!   (`crossbeam_recycled`).
//! * `bulk_u64`: 2 Mi `u64`s per row and round, against rtrb's single `push`/`pop`.
//! * `create_send_recv`: 1,000,000 futures created, written and read on one thread, per row
//!   and round, for every row of [`benches::FUTURE_ROWS`] (the natives, `oneshot`, tokio's
//!   and futures' oneshot channels), against the `oneshot` crate.
//! * `pipelined`: the `future/pipelined` pattern (one thread creates futures and writes
//!   them, the other reads and frees them), 200,000 per row and round, against `oneshot`,
//!   with the allocation floors `box_40b`, `box_112b` ([`benches::pipelined_box`]) and
//!   `box_64b`: the smallest block a future of a `u64` could have whatever its placement
//!   (the header's seven words and a one-word slot).
//! * `reader_waiting`: the `future/reader_waiting` pattern (each round trip wakes a receiver
//!   that waits, twice), a fifth of `--trips` (2,000) per row and round of
//!   [`benches::FUTURE_ROWS`], against `oneshot`.
//! * `async_round_trip`: a fifth of `--trips` (2,000) round trips per row and round of [`benches::ASYNC_ROUND_TRIP_ROWS`]
//!   (an async native stream each way, async-channel and tokio's mpsc of capacity 1), each side
//!   on its own `block_on` (group `async_round_trip`) or tokio current-thread runtime
//!   (`async_round_trip_tokio_rt`), against both peers.
//! * `async_bulk`: 64 MiB of bytes per row and round through an async stream read with
//!   `AsyncRead` (`async_io`) and `AsyncBufRead` (`async_bufread`), against the blocking
//!   stream with the same single 64 KiB buffer (`blocking`).
//! * `write_slice`: 64 MiB of bytes per row and round, `write_slice` of 64 KiB into a
//!   `ReadAhead` from a page-aligned source and from an unaligned `Vec`, against four recycled
//!   blocks over crossbeam `bounded(4)` and `sync_channel(4)` ([`WRITE_SLICE_ROWS`]); under a
//!   `--load`, with `current-api` on Linux, also `futex_batched4`, the writer that batches by
//!   hand (a `ReadAhead` of two 256 KiB buffers, four 64 KiB blocks each by
//!   `BatchWriter::push_slice`).
//! * `async_elements` (`current-api`; not in `all`): 200,000 `u64`s from a writer task to a
//!   reader task of a tokio runtime, groups `async_current_thread` and `async_multi_thread`,
//!   every row of [`benches::ASYNC_ROWS`] (one element a `send`, through the `Sink`, in
//!   batches of 256; tokio's `mpsc(256)` one at a time and in batches), against
//!   `tokio_mpsc256`.
//! * `programs`: one run per row and round of each program of [`benches::PROGRAM_ROWS`]
//!   (serde_json, `writeln!` to `lines()`, `send` to `for x in reader`, tokio-util framed
//!   lines), the native stream against each alternative, in milliseconds.

use std::time::Duration;

use benches::{
    bulk_async, bulk_u8_stream, ping_pong, pipelined_box, settle_cpus, BulkU64Row, BulkU8Row,
    BytePattern, Disturbance, Disturbed, EventSignal, Executor, RawSpin, ReadMode, Role,
    RoundTripRow, ASYNC_ROUND_TRIP_ROWS, BLOCK, BULK_U64_ROWS, BULK_U8_ROWS, FUTURE_ROWS,
    ROUND_TRIP_ROWS, WRITE_SLICE_ROWS,
};
use stream_events::{Futex, Listener, Spin};

/// One row: a name and a run that returns its figure for one round (lower is better for
/// times, higher for throughputs: ratios are taken as they come).
type Row<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

/// A group: its name on the command line, and its run for a number of rounds (which prints
/// the group and returns its CSV lines).
type Group = (&'static str, fn(&Options) -> String);

/// Rows that never yield their CPU: left out while a load runs (`--load` other than `quiet`),
/// where each hand-off would wait for the scheduler to give the partner a time slice.
const NEVER_YIELD: &[&str] = &["raw_spin"];

/// The groups whose rows each start after [`settle_cpus`] (quiet profile only): round trips
/// of 10 000 hand-offs, short enough that the host's transition from a parking row to a
/// spinning one (15-40 ms on a 2-vCPU guest) would decide their figure (docs/bench.md,
/// "Rows start from running CPUs").
const SETTLED: &[&str] = &[
    "floors",
    "events_round_trip",
    "stream_round_trip",
    "future/reader_waiting",
    "async_round_trip",
    "async_round_trip_tokio_rt",
];

/// How long [`settle_cpus`] runs before each row of a [`SETTLED`] group.
const SETTLE: Duration = Duration::from_millis(40);

/// What the command line asks of every group.
struct Options {
    rounds: usize,
    native_only: bool,
    every: u64,
    /// A load runs (`--load` other than `quiet`).
    busy: bool,
    /// Round trips per row and round of `floors`, `events` and `round_trip`.
    trips: u64,
    /// `--csw`: also each row's context switches per transfer (Linux).
    csw: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The ratio of two figures: 1 when both are 0, infinite when only the reference's is.
fn ratio(a: f64, b: f64) -> f64 {
    match (a == 0.0, b == 0.0) {
        (true, true) => 1.0,
        (false, true) => f64::INFINITY,
        _ => a / b,
    }
}

/// Runs `rows` (those `options` keeps) for its rounds and prints and returns their summary
/// ([`summary`]); with `--csw` also the context switches each row made per transfer (a run
/// makes `transfers`: round trips, 64 KiB blocks, elements), as group `GROUP/csw`.
fn report(
    group: &str,
    unit: &str,
    transfers: u64,
    rows: &[Row<'_>],
    references: &[&str],
    o: &Options,
) -> String {
    let rows: Vec<&Row<'_>> = rows
        .iter()
        .filter(|(name, _)| !o.native_only || benches::role_of(group, name) == Some(Role::Native))
        .filter(|(name, _)| !o.busy || !NEVER_YIELD.contains(name))
        .collect();
    let mut figures = vec![Vec::with_capacity(o.rounds); rows.len()];
    let mut switches = vec![Vec::with_capacity(o.rounds); rows.len()];
    let settle = !o.busy && SETTLED.contains(&group);
    for _ in 0..o.rounds {
        for (i, (_, run)) in rows.iter().enumerate() {
            if settle {
                settle_cpus(SETTLE);
            }
            let before = o.csw.then(context_switches);
            figures[i].push(run());
            if let Some(before) = before {
                let made = context_switches().saturating_sub(before);
                switches[i].push(made as f64 / transfers.max(1) as f64);
            }
        }
    }
    let names: Vec<&str> = rows.iter().map(|(name, _)| *name).collect();
    let mut csv = summary(group, unit, &names, &figures, references);
    if o.csw {
        csv += &summary(
            &format!("{group}/csw"),
            "csw",
            &names,
            &switches,
            references,
        );
    }
    csv
}

/// Context switches of this process so far, the busy threads of a load left out
/// ([`benches::context_switches`]).
#[cfg(target_os = "linux")]
fn context_switches() -> u64 {
    benches::context_switches()
}

/// `--csw` is refused off Linux (`main`).
#[cfg(not(target_os = "linux"))]
fn context_switches() -> u64 {
    unreachable!("--csw is Linux only")
}

/// Prints each row's median and its median ratio to each row named in `references` (those that
/// ran), and its slowest round (the longest time, or the lowest throughput: a unit ending in
/// `/s`); returns the same as CSV lines (`group,row,median,unit,reference,ratio,slowest`, one
/// per row and reference, or one with the row as its own reference when none ran).
fn summary(
    group: &str,
    unit: &str,
    names: &[&str],
    figures: &[Vec<f64>],
    references: &[&str],
) -> String {
    let rounds = figures.first().map_or(0, Vec::len);
    println!("{group} ({rounds} rounds, medians; slowest round)");
    let throughput = unit.ends_with("/s");
    let mut csv = String::new();
    for (i, name) in names.iter().enumerate() {
        let row_median = median(figures[i].clone());
        let slowest = figures[i]
            .iter()
            .copied()
            .reduce(if throughput { f64::min } else { f64::max })
            .unwrap_or(f64::NAN);
        // Context switches per transfer are often a few hundredths.
        let digits = if unit == "csw" { 3 } else { 2 };
        let mut line =
            format!("  {name:24} {row_median:9.digits$} {unit} (slowest {slowest:.digits$})");
        let present: Vec<(usize, &str)> = references
            .iter()
            .filter_map(|r| Some((names.iter().position(|n| n == r)?, *r)))
            .collect();
        if present.is_empty() {
            csv += &format!("{group},{name},{row_median:.4},{unit},{name},1,{slowest:.4}\n");
        }
        for (r, reference) in present {
            let ratios = figures[i]
                .iter()
                .zip(&figures[r])
                .map(|(&a, &b)| ratio(a, b))
                .collect();
            let ratio = median(ratios);
            line += &format!("   /{reference} {ratio:.3}");
            csv += &format!(
                "{group},{name},{row_median:.4},{unit},{reference},{ratio:.4},{slowest:.4}\n"
            );
        }
        println!("{line}");
    }
    csv
}

fn per_round_trip(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

/// Round trips per row and round of the round-trip groups (but `disturbed`), unless `--trips`
/// says otherwise.
const TRIPS: u64 = 10_000;

/// Round trips per row and round of the `disturbed` group: 40 stops at the default `--every`.
const DISTURBED_TRIPS: u64 = 20_000;

/// The names of the channel peers of [`ROUND_TRIP_ROWS`].
fn round_trip_peers() -> Vec<&'static str> {
    ROUND_TRIP_ROWS
        .iter()
        .filter(|row| !row.is_native())
        .map(|row| row.name())
        .collect()
}

/// A row of [`ROUND_TRIP_ROWS`] timed over `n` round trips.
fn round_trip_row(row: RoundTripRow, n: u64) -> Row<'static> {
    (row.name(), Box::new(move || per_round_trip(row.time(n), n)))
}

fn floors(o: &Options) -> String {
    let mut rows: Vec<Row<'_>> = vec![(
        "raw_spin",
        Box::new(|| per_round_trip(ping_pong::<RawSpin>(o.trips), o.trips)),
    )];
    #[cfg(target_os = "linux")]
    rows.insert(
        0,
        (
            "raw_futex",
            Box::new(|| per_round_trip(ping_pong::<benches::RawFutex>(o.trips), o.trips)),
        ),
    );
    report("floors", "ns", o.trips, &rows, &[], o)
}

fn events_round_trip(o: &Options) -> String {
    let n = o.trips;
    let mut rows: Vec<Row<'_>> = vec![
        (
            "spin",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Spin>>(n), n)),
        ),
        (
            "futex",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Futex>>(n), n)),
        ),
        (
            "listener",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Listener>>(n), n)),
        ),
        (
            "raw_spin",
            Box::new(|| per_round_trip(ping_pong::<RawSpin>(n), n)),
        ),
    ];
    rows.extend(
        ROUND_TRIP_ROWS
            .iter()
            .filter(|row| !row.is_native())
            .map(|&row| round_trip_row(row, n)),
    );
    let mut references = vec!["raw_spin"];
    references.extend(round_trip_peers());
    report("events_round_trip", "ns", n, &rows, &references, o)
}

fn round_trip(o: &Options) -> String {
    let rows: Vec<Row<'_>> = ROUND_TRIP_ROWS
        .iter()
        .map(|&row| round_trip_row(row, o.trips))
        .collect();
    report(
        "stream_round_trip",
        "ns",
        o.trips,
        &rows,
        &round_trip_peers(),
        o,
    )
}

/// The round-trip rows with the partner stopping for 1 ms every `o.every` hand-offs: two
/// groups, the median round trip and the hand-offs to recover after a stop.
fn disturbed(o: &Options) -> String {
    let rows: Vec<RoundTripRow> = ROUND_TRIP_ROWS
        .iter()
        .copied()
        .filter(|row| !o.native_only || row.is_native())
        .collect();
    let mut medians = vec![Vec::with_capacity(o.rounds); rows.len()];
    let mut recoveries = vec![Vec::with_capacity(o.rounds); rows.len()];
    for _ in 0..o.rounds {
        for (i, row) in rows.iter().enumerate() {
            let times = row.run(Disturbed {
                iters: DISTURBED_TRIPS,
                every: o.every,
                pause: Duration::from_millis(1),
            });
            let d = Disturbance::of(&times, o.every);
            medians[i].push(d.median_ns);
            recoveries[i].push(d.recovery);
        }
    }
    let names: Vec<&str> = rows.iter().map(|row| row.name()).collect();
    let peers = round_trip_peers();
    let mut csv = summary(
        "disturbed/stream_round_trip",
        "ns",
        &names,
        &medians,
        &peers,
    );
    csv += &summary(
        "disturbed/stream_round_trip/recovery",
        "hand-offs",
        &names,
        &recoveries,
        &peers,
    );
    csv
}

/// Bytes per row and round of the byte groups.
const BULK_BYTES: u64 = 64 << 20;

/// The 64 KiB blocks in [`BULK_BYTES`]: the transfers of a byte row (for `--csw`).
const BLOCKS: u64 = BULK_BYTES / BLOCK as u64;

/// GiB/s of [`BULK_BYTES`] moved in `d`.
fn gib_s(d: Duration) -> f64 {
    BULK_BYTES as f64 / d.as_secs_f64() / f64::from(1u32 << 30)
}

fn bulk(o: &Options) -> String {
    const BYTES: u64 = BULK_BYTES;
    let pattern = BytePattern::new();
    let p = &pattern;
    // The rows of the criterion group but the spinning ring and the one-thread floor.
    let rows: Vec<Row<'_>> = BULK_U8_ROWS
        .iter()
        .filter(|row| !matches!(row, BulkU8Row::Rtrb | BulkU8Row::Memcpy))
        .map(|&row| -> Row<'_> { (row.name(), Box::new(move || gib_s(row.time(p, BYTES)))) })
        .collect();
    report(
        "stream_bulk_u8",
        "GiB/s",
        BLOCKS,
        &rows,
        &["crossbeam_recycled_copy", "crossbeam_recycled"],
        o,
    )
}

fn bulk_u64(o: &Options) -> String {
    const ELEMS: u64 = 2 << 20;
    let melem_s = |d: Duration| ELEMS as f64 / d.as_secs_f64() / 1e6;
    // The rows of the criterion group but crossbeam's.
    let rows: Vec<Row<'_>> = BULK_U64_ROWS
        .iter()
        .filter(|row| **row != BulkU64Row::Crossbeam1024)
        .map(|&row| -> Row<'_> { (row.name(), Box::new(move || melem_s(row.time(ELEMS)))) })
        .collect();
    report("stream_bulk_u64", "Melem/s", ELEMS, &rows, &["rtrb"], o)
}

fn create_send_recv(o: &Options) -> String {
    const N: u64 = 1_000_000;
    let rows: Vec<Row<'_>> = FUTURE_ROWS
        .iter()
        .map(|&row| -> Row<'_> {
            (
                row.name(),
                Box::new(move || per_round_trip(row.create_send_recv(N), N)),
            )
        })
        .collect();
    report("future/create_send_recv", "ns", N, &rows, &["oneshot"], o)
}

fn pipelined(o: &Options) -> String {
    const N: u64 = 200_000;
    let mut rows: Vec<Row<'_>> = FUTURE_ROWS
        .iter()
        .map(|&row| -> Row<'_> {
            (
                row.name(),
                Box::new(move || per_round_trip(row.pipelined(N), N)),
            )
        })
        .collect();
    rows.extend([
        (
            "box_40b",
            Box::new(|| per_round_trip(pipelined_box::<5>(N), N)) as Box<dyn Fn() -> f64 + '_>,
        ),
        (
            "box_112b",
            Box::new(|| per_round_trip(pipelined_box::<14>(N), N)),
        ),
        (
            "box_64b",
            Box::new(|| per_round_trip(pipelined_box::<8>(N), N)),
        ),
    ]);
    report("future/pipelined", "ns", N, &rows, &["oneshot"], o)
}

fn reader_waiting(o: &Options) -> String {
    // A fifth of the blocking round trips, as `async_round_trip`: the peers park for tens of
    // microseconds a round trip where idle CPUs halt at once.
    let n = (o.trips / 5).max(1);
    let rows: Vec<Row<'_>> = FUTURE_ROWS
        .iter()
        .map(|&row| -> Row<'_> {
            (
                row.name(),
                Box::new(move || per_round_trip(row.reader_waiting(n), n)),
            )
        })
        .collect();
    report("future/reader_waiting", "ns", n, &rows, &["oneshot"], o)
}

fn async_round_trip(o: &Options) -> String {
    // A fifth of the blocking round trips: the peers park for 30-50 µs a round trip where
    // wake-ups are slow.
    let trips = (o.trips / 5).max(1);
    let mut csv = String::new();
    for executor in [Executor::BlockOn, Executor::TokioCurrentThread] {
        let rows: Vec<Row<'_>> = ASYNC_ROUND_TRIP_ROWS
            .iter()
            .map(|&row| -> Row<'_> {
                (
                    row.name(),
                    Box::new(move || per_round_trip(row.time(trips, executor), trips)),
                )
            })
            .collect();
        let peers: Vec<&str> = ASYNC_ROUND_TRIP_ROWS[1..]
            .iter()
            .map(|r| r.name())
            .collect();
        csv += &report(executor.group(), "ns", trips, &rows, &peers, o);
    }
    csv
}

fn async_bulk(o: &Options) -> String {
    const BYTES: u64 = BULK_BYTES;
    let pattern = BytePattern::new();
    let p = &pattern;
    let rows: Vec<Row<'_>> = vec![
        (
            "async_io",
            Box::new(move || gib_s(bulk_async(p, BYTES, ReadMode::CopyOut))),
        ),
        (
            "async_bufread",
            Box::new(move || gib_s(bulk_async(p, BYTES, ReadMode::InPlace))),
        ),
        (
            "blocking",
            Box::new(move || gib_s(bulk_u8_stream::<Listener>(p, BYTES))),
        ),
    ];
    report("async_bulk_u8", "GiB/s", BLOCKS, &rows, &["blocking"], o)
}

fn write_slice(o: &Options) -> String {
    let pattern = BytePattern::new();
    let p = &pattern;
    #[allow(unused_mut)] // Without `current-api`.
    let mut rows: Vec<Row<'_>> = WRITE_SLICE_ROWS
        .iter()
        .map(|&row| -> Row<'_> { (row.name(), Box::new(move || gib_s(row.time(p, BULK_BYTES)))) })
        .collect();
    // The writer that batches by hand: what `write_slice` is measured against in the busy
    // profiles (docs/performance.md, 2026-12-01); only under a load, which keeps the quiet
    // quick run within its time.
    #[cfg(all(feature = "current-api", target_os = "linux"))]
    if o.busy {
        let row = BulkU8Row::Batched(benches::NativeBackend::Futex, 4);
        rows.push((row.name(), Box::new(move || gib_s(row.time(p, BULK_BYTES)))));
    }
    let peers = ["crossbeam_bounded4", "sync_channel4"];
    report("stream_write_slice", "GiB/s", BLOCKS, &rows, &peers, o)
}

/// Elements per row and round of `async_elements`.
#[cfg(feature = "current-api")]
const ASYNC_ELEMENTS: u64 = 200_000;

/// [`ASYNC_ELEMENTS`] `u64`s from a writer task to a reader task of a tokio runtime of each
/// kind, per row of [`benches::AsyncRow`] (none without `current-api`).
fn async_elements(o: &Options) -> String {
    #[allow(unused_mut)] // Without `current-api`.
    let mut csv = String::new();
    #[cfg(feature = "current-api")]
    for (group, runtime) in [
        ("async_current_thread", benches::Runtime::CurrentThread),
        ("async_multi_thread", benches::Runtime::MultiThread),
    ] {
        let melem_s = |d: Duration| ASYNC_ELEMENTS as f64 / d.as_secs_f64() / 1e6;
        let rows: Vec<Row<'_>> = benches::ASYNC_ROWS
            .iter()
            .map(|&how| -> Row<'_> {
                (
                    how.name(),
                    Box::new(move || {
                        melem_s(benches::async_elements(runtime, how, ASYNC_ELEMENTS))
                    }),
                )
            })
            .collect();
        csv += &report(
            group,
            "Melem/s",
            ASYNC_ELEMENTS,
            &rows,
            &["tokio_mpsc256"],
            o,
        );
    }
    let _ = o;
    csv
}

/// Each group of [`benches::PROGRAM_ROWS`] in ms per run (none without `current-api`).
fn programs(o: &Options) -> String {
    #[allow(unused_mut)] // Without `current-api`.
    let mut csv = String::new();
    #[cfg(feature = "current-api")]
    for (group, rows) in benches::program_groups() {
        let peers: Vec<&str> = rows
            .iter()
            .filter(|r| !r.is_native())
            .map(|r| r.name())
            .collect();
        let ms = |row: benches::ProgramRow| row.time().as_secs_f64() * 1e3;
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|&r| -> Row<'_> { (r.name(), Box::new(move || ms(r))) })
            .collect();
        csv += &report(group, "ms", 1, &rows, &peers, o);
    }
    let _ = o;
    csv
}

/// The load of `--load KIND`.
#[cfg(target_os = "linux")]
fn start_load(kind: &str) -> benches::Load {
    use benches::{Load, LoadKind};
    let count = |n: &str| n.parse().expect("--load: processes:N or threads:N");
    Load::start(match kind.split_once(':') {
        None if kind == "quiet" => LoadKind::Quiet,
        Some(("processes", n)) => LoadKind::Processes(count(n)),
        Some(("threads", n)) => LoadKind::Threads(count(n)),
        _ => panic!("--load {kind}: quiet, processes:N or threads:N"),
    })
}

/// The load of `--load KIND`: only `quiet` off Linux.
#[cfg(not(target_os = "linux"))]
fn start_load(kind: &str) {
    assert_eq!(kind, "quiet", "--load: only quiet off Linux");
}

fn main() {
    #[cfg(target_os = "linux")]
    benches::burn_if_asked();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        print!("{}", benches::ROLES_CSV);
        return;
    }
    let mut take = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        let value = args
            .get(at + 1)
            .unwrap_or_else(|| panic!("{flag} needs a value"))
            .clone();
        args.drain(at..at + 2);
        Some(value)
    };
    let csv_path = take("--csv");
    let load = take("--load").unwrap_or_else(|| "quiet".into());
    let every = take("--every").map_or(500, |s| s.parse().expect("--every: a number"));
    let trips = take("--trips").map_or(TRIPS, |s| s.parse().expect("--trips: a number"));
    let mut flag = |name: &str| match args.iter().position(|a| a == name) {
        Some(at) => {
            args.remove(at);
            true
        }
        None => false,
    };
    let native_only = flag("--native");
    let csw = flag("--csw");
    assert!(
        !csw || cfg!(target_os = "linux"),
        "--csw: context switches are counted on Linux only"
    );
    let wanted = args.first().map(String::as_str).unwrap_or("all");
    let rounds = args
        .get(1)
        .map_or(40, |s| s.parse().expect("rounds: a number"));
    let options = Options {
        rounds,
        native_only,
        every,
        busy: load != "quiet",
        trips,
        csw,
    };
    // `all` is every group but the first three: the floors measure the machine, the disturbed
    // group is a profile of its own, and the async element groups belong to the busy
    // profiles (where the tokio `Sink` target is judged), not to the quick quiet run.
    let groups: [Group; 15] = [
        ("floors", floors),
        ("disturbed", disturbed),
        ("async_elements", async_elements),
        ("events", events_round_trip),
        ("round_trip", round_trip),
        ("bulk", bulk),
        ("bulk_u64", bulk_u64),
        ("create_send_recv", create_send_recv),
        ("pipelined", pipelined),
        ("reader_waiting", reader_waiting),
        ("async_round_trip", async_round_trip),
        ("async_bulk", async_bulk),
        ("write_slice", write_slice),
        ("programs", programs),
        ("all", |_| String::new()),
    ];
    let wanted: Vec<&str> = wanted.split(',').collect();
    for group in &wanted {
        assert!(
            groups.iter().any(|(name, _)| name == group),
            "unknown group {group}"
        );
    }
    let _load = start_load(&load);
    let mut csv = String::from("group,row,median,unit,reference,ratio,slowest\n");
    for (k, (name, run)) in groups.iter().enumerate() {
        if wanted.contains(name) || (k >= 3 && wanted.contains(&"all")) {
            csv += &run(&options);
        }
    }
    if let Some(path) = csv_path {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}
