//! Ratios of two-thread rows measured interleaved: each round runs every row once, and the
//! ratio of a row to a reference is taken within the round, then the median over rounds.
//!
//! On a shared 2-core machine a two-thread row can swing 2-4x from one minute to the next
//! (where the scheduler puts the threads), which criterion's one-row-after-another runs turn
//! into noise in the ratios. Interleaving puts every row in the same conditions, round by
//! round; criterion (`cargo xtask bench`) stays the reference for absolute figures.
//!
//! Run: `cargo run --release -p benches --example interleaved -- [GROUP] [ROUNDS] [--csv
//! PATH]` (every group and 40 rounds by default; `--csv` also writes the medians and ratios
//! there, as `cargo xtask bench` does). Groups:
//!
//! * `events`: 100,000 activate -> wake round trips per row and round
//!   ([`benches::ping_pong`]), against both threads spinning on one word (`raw_spin`) and
//!   crossbeam `bounded(1)`.
//! * `round_trip`: 100,000 one-element round trips per row and round, against crossbeam
//!   `bounded(1)`.
//! * `bulk`: 64 MiB of bytes per row and round, against crossbeam's recycled blocks copied
//!   out by the reader (`crossbeam_recycled_copy`) and checked in place
//!   (`crossbeam_recycled`).
//! * `bulk_u64`: 2 Mi `u64`s per row and round, against rtrb's single `push`/`pop`.
//! * `create_send_recv`: 1,000,000 futures created, written and read on one thread, per row
//!   and round, against the `oneshot` crate.
//! * `pipelined`: the `future/pipelined` pattern (one thread creates futures and writes
//!   them, the other reads and frees them), 200,000 per row and round, against `oneshot`,
//!   with the allocation floors `box_40b`, `box_112b` ([`benches::pipelined_box`]) and
//!   `box_64b`: the smallest block a future of a `u64` could have whatever its placement
//!   (the header's seven words and a one-word slot).
//! * `async_bulk`: 64 MiB of bytes per row and round through an async stream read with
//!   `AsyncRead` (`async_io`) and `AsyncBufRead` (`async_bufread`), against the blocking
//!   stream with the same single 64 KiB buffer (`blocking`).

use std::time::Duration;

use benches::{
    bulk_async, bulk_u64_native, bulk_u64_rtrb, bulk_u8_crossbeam, bulk_u8_crossbeam_copy,
    bulk_u8_read_ahead, bulk_u8_stream, crossbeam_round_trips, ping_pong, pipelined_box,
    pipelined_ring, round_trip_native, BytePattern, EventSignal, RawSpin, ReadMode,
};
use stream_events::{Backend, Futex, Listener, Spin};

/// One row: a name and a run that returns its figure for one round (lower is better for
/// times, higher for throughputs: ratios are taken as they come).
type Row<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

/// A group: its name on the command line, and its run for a number of rounds (which prints
/// the group and returns its CSV lines).
type Group = (&'static str, fn(usize) -> String);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `rows` for `rounds` rounds and prints each row's median and its median ratio to
/// each row named in `references`; returns the same as CSV lines
/// (`group,row,median,unit,reference,ratio`, one per row and reference).
fn report(group: &str, unit: &str, rows: &[Row<'_>], references: &[&str], rounds: usize) -> String {
    let mut figures = vec![Vec::with_capacity(rounds); rows.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in rows.iter().enumerate() {
            figures[i].push(run());
        }
    }
    println!("{group} ({rounds} rounds, medians)");
    let mut csv = String::new();
    for (i, (name, _)) in rows.iter().enumerate() {
        let row_median = median(figures[i].clone());
        let mut line = format!("  {name:24} {row_median:9.2} {unit}");
        for reference in references {
            let r = rows
                .iter()
                .position(|(n, _)| n == reference)
                .expect("reference row");
            let ratios = figures[i]
                .iter()
                .zip(&figures[r])
                .map(|(a, b)| a / b)
                .collect();
            let ratio = median(ratios);
            line += &format!("   /{reference} {ratio:.3}");
            csv += &format!("{group},{name},{row_median:.4},{unit},{reference},{ratio:.4}\n");
        }
        println!("{line}");
    }
    csv
}

fn per_round_trip(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn events_round_trip(rounds: usize) -> String {
    const N: u64 = 100_000;
    let rows: Vec<Row<'_>> = vec![
        (
            "spin",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Spin>>(N), N)),
        ),
        (
            "futex",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Futex>>(N), N)),
        ),
        (
            "listener",
            Box::new(|| per_round_trip(ping_pong::<EventSignal<Listener>>(N), N)),
        ),
        (
            "raw_spin",
            Box::new(|| per_round_trip(ping_pong::<RawSpin>(N), N)),
        ),
        (
            "crossbeam_bounded1",
            Box::new(|| per_round_trip(crossbeam_round_trips(N, 1), N)),
        ),
    ];
    report(
        "events_round_trip",
        "ns",
        &rows,
        &["raw_spin", "crossbeam_bounded1"],
        rounds,
    )
}

fn round_trip(rounds: usize) -> String {
    const N: u64 = 100_000;
    let rows: Vec<Row<'_>> = vec![
        (
            "spin",
            Box::new(|| per_round_trip(round_trip_native::<Spin>(N), N)),
        ),
        (
            "futex",
            Box::new(|| per_round_trip(round_trip_native::<Futex>(N), N)),
        ),
        (
            "listener",
            Box::new(|| per_round_trip(round_trip_native::<Listener>(N), N)),
        ),
        (
            "crossbeam_bounded1",
            Box::new(|| per_round_trip(crossbeam_round_trips(N, 1), N)),
        ),
    ];
    report(
        "stream_round_trip",
        "ns",
        &rows,
        &["crossbeam_bounded1"],
        rounds,
    )
}

/// Bytes per row and round of the byte groups.
const BULK_BYTES: u64 = 64 << 20;

/// GiB/s of [`BULK_BYTES`] moved in `d`.
fn gib_s(d: Duration) -> f64 {
    BULK_BYTES as f64 / d.as_secs_f64() / f64::from(1u32 << 30)
}

fn bulk(rounds: usize) -> String {
    const BYTES: u64 = BULK_BYTES;
    let pattern = BytePattern::new();
    let p = &pattern;
    let rows: Vec<Row<'_>> = vec![
        (
            "spin",
            Box::new(move || gib_s(bulk_u8_read_ahead::<Spin>(p, BYTES))),
        ),
        (
            "futex",
            Box::new(move || gib_s(bulk_u8_read_ahead::<Futex>(p, BYTES))),
        ),
        (
            "listener",
            Box::new(move || gib_s(bulk_u8_read_ahead::<Listener>(p, BYTES))),
        ),
        (
            "futex_one_buffer",
            Box::new(move || gib_s(bulk_u8_stream::<Futex>(p, BYTES))),
        ),
        (
            "crossbeam_recycled_copy",
            Box::new(move || gib_s(bulk_u8_crossbeam_copy(p, BYTES))),
        ),
        (
            "crossbeam_recycled",
            Box::new(move || gib_s(bulk_u8_crossbeam(p, BYTES))),
        ),
    ];
    report(
        "stream_bulk_u8",
        "GiB/s",
        &rows,
        &["crossbeam_recycled_copy", "crossbeam_recycled"],
        rounds,
    )
}

fn bulk_u64(rounds: usize) -> String {
    const ELEMS: u64 = 2 << 20;
    let melem_s = |d: Duration| ELEMS as f64 / d.as_secs_f64() / 1e6;
    let rows: Vec<Row<'_>> = vec![
        (
            "spin",
            Box::new(move || melem_s(bulk_u64_native::<Spin>(ELEMS, true))),
        ),
        (
            "futex",
            Box::new(move || melem_s(bulk_u64_native::<Futex>(ELEMS, true))),
        ),
        (
            "listener",
            Box::new(move || melem_s(bulk_u64_native::<Listener>(ELEMS, true))),
        ),
        (
            "futex_one_buffer",
            Box::new(move || melem_s(bulk_u64_native::<Futex>(ELEMS, false))),
        ),
        ("rtrb", Box::new(move || melem_s(bulk_u64_rtrb(ELEMS)))),
    ];
    report("stream_bulk_u64", "Melem/s", &rows, &["rtrb"], rounds)
}

/// `n` futures created, written and read on this thread; nanoseconds per future.
fn create_send_recv_with<Tx, Rx>(
    n: u64,
    make: impl Fn() -> (Tx, Rx),
    send: impl Fn(Tx, u64),
    recv: impl Fn(Rx) -> Option<u64>,
) -> f64 {
    let start = std::time::Instant::now();
    for i in 0..n {
        let (tx, rx) = make();
        send(tx, std::hint::black_box(i));
        assert_eq!(recv(rx), Some(i));
    }
    per_round_trip(start.elapsed(), n)
}

fn create_send_recv_native<B: Backend>(n: u64) -> f64 {
    create_send_recv_with(
        n,
        stream_future::future_with::<u64, B>,
        |tx, v| assert!(tx.write(v).is_ok()),
        |rx| rx.read().ok(),
    )
}

fn create_send_recv(rounds: usize) -> String {
    const N: u64 = 1_000_000;
    let rows: Vec<Row<'_>> = vec![
        ("spin", Box::new(|| create_send_recv_native::<Spin>(N))),
        ("futex", Box::new(|| create_send_recv_native::<Futex>(N))),
        (
            "listener",
            Box::new(|| create_send_recv_native::<Listener>(N)),
        ),
        (
            "oneshot",
            Box::new(|| {
                create_send_recv_with(
                    N,
                    oneshot::channel::<u64>,
                    |tx, v| tx.send(v).unwrap(),
                    |rx| rx.recv().ok(),
                )
            }),
        ),
    ];
    report("future/create_send_recv", "ns", &rows, &["oneshot"], rounds)
}

/// `n` futures through the `future/pipelined` pattern ([`pipelined_ring`]) with `make`,
/// `send` and `recv`; returns nanoseconds per future.
fn pipelined_with<Tx, Rx: Send>(
    n: u64,
    make: impl Fn() -> (Tx, Rx) + Send,
    send: impl Fn(Tx, u64) + Send,
    recv: impl Fn(Rx) -> Option<u64>,
) -> f64 {
    let elapsed = pipelined_ring(
        n,
        move |i| {
            let (tx, rx) = make();
            send(tx, i);
            rx
        },
        |rx| recv(rx).expect("sender dropped without sending"),
    );
    per_round_trip(elapsed, n)
}

fn pipelined_native<B: Backend>(n: u64) -> f64 {
    pipelined_with(
        n,
        stream_future::future_with::<u64, B>,
        |tx, v| assert!(tx.write(v).is_ok()),
        |rx| rx.read().ok(),
    )
}

fn pipelined(rounds: usize) -> String {
    const N: u64 = 200_000;
    let rows: Vec<Row<'_>> = vec![
        ("spin", Box::new(|| pipelined_native::<Spin>(N))),
        ("futex", Box::new(|| pipelined_native::<Futex>(N))),
        ("listener", Box::new(|| pipelined_native::<Listener>(N))),
        (
            "oneshot",
            Box::new(|| {
                pipelined_with(
                    N,
                    oneshot::channel::<u64>,
                    |tx, v| tx.send(v).unwrap(),
                    |rx| rx.recv().ok(),
                )
            }),
        ),
        (
            "box_40b",
            Box::new(|| per_round_trip(pipelined_box::<5>(N), N)),
        ),
        (
            "box_112b",
            Box::new(|| per_round_trip(pipelined_box::<14>(N), N)),
        ),
        (
            "box_64b",
            Box::new(|| per_round_trip(pipelined_box::<8>(N), N)),
        ),
    ];
    report("future/pipelined", "ns", &rows, &["oneshot"], rounds)
}

fn async_bulk(rounds: usize) -> String {
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
    report("async_bulk_u8", "GiB/s", &rows, &["blocking"], rounds)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let csv_path = args.iter().position(|a| a == "--csv").map(|at| {
        let path = args.get(at + 1).expect("--csv needs a path").clone();
        args.drain(at..at + 2);
        path
    });
    let group = args.first().map(String::as_str).unwrap_or("all");
    let rounds = args
        .get(1)
        .map_or(40, |s| s.parse().expect("rounds: a number"));
    let groups: [Group; 7] = [
        ("events", events_round_trip),
        ("round_trip", round_trip),
        ("bulk", bulk),
        ("bulk_u64", bulk_u64),
        ("create_send_recv", create_send_recv),
        ("pipelined", pipelined),
        ("async_bulk", async_bulk),
    ];
    assert!(
        group == "all" || groups.iter().any(|(name, _)| *name == group),
        "unknown group {group}"
    );
    let mut csv = String::from("group,row,median,unit,reference,ratio\n");
    for (name, run) in groups {
        if group == "all" || group == name {
            csv += &run(rounds);
        }
    }
    if let Some(path) = csv_path {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}
