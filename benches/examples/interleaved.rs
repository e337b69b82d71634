//! Ratios of two-thread rows measured interleaved: each round runs every row once, and the
//! ratio of a row to a reference is taken within the round, then the median over rounds.
//!
//! On a shared 2-core machine a two-thread row can swing 2-4x from one minute to the next
//! (where the scheduler puts the threads), which criterion's one-row-after-another runs turn
//! into noise in the ratios. Interleaving puts every row in the same conditions, round by
//! round; criterion (`cargo xtask bench`) stays the reference for absolute figures.
//!
//! Run: `cargo run --release -p benches --example interleaved -- [round_trip|bulk] [rounds]`
//! (both groups and 40 rounds by default). `round_trip`: 100,000 one-element round trips per
//! row and round, against crossbeam `bounded(1)`. `bulk`: 16 MiB of bytes per row and round,
//! against crossbeam's recycled blocks copied out by the reader (`crossbeam_recycled_copy`)
//! and checked in place (`crossbeam_recycled`).

use std::time::Duration;

use benches::{
    bulk_u8_crossbeam, bulk_u8_crossbeam_copy, bulk_u8_read_ahead, bulk_u8_stream,
    crossbeam_round_trips, round_trip_native, BytePattern,
};
use stream_events::{Futex, Listener, Spin};

/// One row: a name and a run that returns its figure for one round (lower is better for
/// times, higher for throughputs: ratios are taken as they come).
type Row<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `rows` for `rounds` rounds and prints each row's median and its median ratio to
/// each row named in `references`.
fn report(title: &str, unit: &str, rows: &[Row<'_>], references: &[&str], rounds: usize) {
    let mut figures = vec![Vec::with_capacity(rounds); rows.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in rows.iter().enumerate() {
            figures[i].push(run());
        }
    }
    println!("{title} ({rounds} rounds, medians)");
    for (i, (name, _)) in rows.iter().enumerate() {
        let mut line = format!("  {name:24} {:9.2} {unit}", median(figures[i].clone()));
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
            line += &format!("   /{reference} {:.3}", median(ratios));
        }
        println!("{line}");
    }
}

fn per_round_trip(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn round_trip(rounds: usize) {
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
    );
}

fn bulk(rounds: usize) {
    const BYTES: u64 = 16 << 20;
    let pattern = BytePattern::new();
    let p = &pattern;
    let gib_s = |d: Duration| BYTES as f64 / d.as_secs_f64() / f64::from(1u32 << 30);
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
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let group = args.first().map(String::as_str).unwrap_or("all");
    let rounds = args
        .get(1)
        .map_or(40, |s| s.parse().expect("rounds: a number"));
    if matches!(group, "all" | "round_trip") {
        round_trip(rounds);
    }
    if matches!(group, "all" | "bulk") {
        bulk(rounds);
    }
}
