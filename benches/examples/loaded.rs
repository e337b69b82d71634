//! The loaded profile: the rows users meet on a busy machine, measured while busy processes or
//! busy threads compete for the CPUs, interleaved round by round as the `interleaved` example
//! does, with the context switches each row makes per transfer.
//!
//! Run: `cargo run --release -p benches --example loaded -- [--load N] [--kinds K,K]
//! [--rounds R] [--csv PATH] [GROUP ...]`:
//!
//! * `--load N`: busy processes or threads per kind (default: one per CPU).
//! * `--kinds`: the loads to run, of `quiet`, `processes`, `threads` (default
//!   `processes,threads`). `processes` are copies of this executable spinning on arithmetic;
//!   `threads` spin in this process, which the scheduler treats differently (they share the
//!   process's accounting and, with the same priority, its time slices).
//! * `--rounds R`: rounds per group and kind (default 5); each round runs every row once.
//! * `--csv PATH`: also writes `group,row,median,unit,reference,ratio,slowest` lines there
//!   (the interleaved example's format: `slowest` is the row's slowest round), with groups
//!   named `loaded/KIND/GROUP`, and the context switches per transfer as groups
//!   `loaded/KIND/GROUP/csw` (unit `csw`).
//!
//! Groups:
//!
//! * `round_trip`: 20,000 one-element round trips per row and round (two streams, one each
//!   way), every row of [`ROUND_TRIP_ROWS`]: per backend, against every channel peer.
//! * `bulk`: 64 MiB per row and round in 64 KiB blocks: the native rows `write_slice` into a
//!   [`ReadAhead`](stream_core::ReadAhead) of two 64 KiB buffers, the peers recycle four blocks
//!   over crossbeam `bounded(4)` and `std::sync::mpsc::sync_channel(4)`; every reader checks
//!   every byte. `futex_batched4` is the stream with the writer batching: a `ReadAhead` of
//!   two 256 KiB buffers, filled with four 64 KiB blocks each by `BatchWriter::push_slice`
//!   ([`benches::bulk_u8_batched`]). `write_slice_aligned` and `write_slice_vec`: the
//!   `stream_write_slice` rows (a `ReadAhead` of 64 KiB chunks, the writer's source
//!   page-aligned or an unaligned `Vec`). Context switches are per 64 KiB block.
//! * `async_current_thread`, `async_multi_thread`: 200,000 `u64`s from a writer task to a
//!   reader task of a tokio runtime of that kind ([`benches::async_elements`]): one element at
//!   a time (`native_send`: one hand-off per element; `native_sink`: `SinkExt::feed` into the
//!   reader's buffer, one hand-off per 256; `tokio_mpsc256`) and in batches of 256
//!   (`native_batch`, `tokio_mpsc_batch`).

use std::time::Duration;

use benches::{
    async_elements, burn_if_asked, context_switches, AsyncRow, BlockChannel, BulkU8Row,
    BytePattern, Load, LoadKind, NativeBackend, Runtime, WriteSource, BLOCK, ROUND_TRIP_ROWS,
};

/// One row: its name and a run returning (figure, transfers) for one round.
type Row<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The ratio of two context-switch counts: 1 when both are 0, infinite when only the
/// reference's is.
fn switch_ratio(a: f64, b: f64) -> f64 {
    match (a == 0.0, b == 0.0) {
        (true, true) => 1.0,
        (false, true) => f64::INFINITY,
        _ => a / b,
    }
}

/// A group: its figure's unit, the transfers per run (for switches per transfer), its rows and
/// the rows its ratios are to.
struct Group<'a> {
    name: &'static str,
    unit: &'static str,
    transfers: u64,
    rows: Vec<Row<'a>>,
    references: &'a [&'a str],
}

/// Runs `group` for `rounds` rounds under the current load and prints and returns its CSV
/// lines (figures and switches per transfer, each with its median ratio to each reference).
fn run(kind: LoadKind, group: &Group<'_>, rounds: usize) -> String {
    let n = group.rows.len();
    let mut figures = vec![Vec::with_capacity(rounds); n];
    let mut switches = vec![Vec::with_capacity(rounds); n];
    for _ in 0..rounds {
        for (i, (_, run)) in group.rows.iter().enumerate() {
            let before = context_switches();
            figures[i].push(run());
            let after = context_switches();
            switches[i].push(after.saturating_sub(before) as f64 / group.transfers as f64);
        }
    }
    let prefix = format!("loaded/{}/{}", kind.name(), group.name);
    println!("{prefix} ({rounds} rounds, medians; csw = context switches per transfer)");
    let mut csv = String::new();
    for (i, (name, _)) in group.rows.iter().enumerate() {
        let (figure, csw) = (median(figures[i].clone()), median(switches[i].clone()));
        // The slowest round: the longest time or the lowest throughput; the most switches.
        let throughput = group.unit.ends_with("/s");
        let slowest = figures[i]
            .iter()
            .copied()
            .reduce(if throughput { f64::min } else { f64::max })
            .unwrap_or(f64::NAN);
        let csw_slowest = switches[i].iter().copied().fold(0.0, f64::max);
        let mut line = format!(
            "  {name:20} {figure:9.2} {:6} (slowest {slowest:.2}) {csw:8.3} csw",
            group.unit
        );
        for reference in group.references {
            let r = group
                .rows
                .iter()
                .position(|(row, _)| row == reference)
                .expect("reference row");
            let ratio = |a: &[f64], b: &[f64], f: fn(f64, f64) -> f64| {
                median(a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect())
            };
            let figure_ratio = ratio(&figures[i], &figures[r], |a, b| a / b);
            let csw_ratio = ratio(&switches[i], &switches[r], switch_ratio);
            line += &format!("   /{reference} {figure_ratio:.3} (csw {csw_ratio:.2})");
            csv += &format!(
                "{prefix},{name},{figure:.4},{},{reference},{figure_ratio:.4},{slowest:.4}\n\
                 {prefix}/csw,{name},{csw:.4},csw,{reference},{csw_ratio:.4},{csw_slowest:.4}\n",
                group.unit
            );
        }
        println!("{line}");
    }
    csv
}

fn per_op(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n as f64
}

fn main() {
    burn_if_asked();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        let value = args
            .get(at + 1)
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        let value = value.clone();
        args.drain(at..at + 2);
        Some(value)
    };
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let load: usize = take("--load").map_or(cpus, |s| s.parse().expect("--load: a number"));
    let rounds: usize = take("--rounds").map_or(5, |s| s.parse().expect("--rounds: a number"));
    let csv_path = take("--csv");
    let kinds: Vec<LoadKind> = take("--kinds")
        .unwrap_or_else(|| "processes,threads".into())
        .split(',')
        .map(|k| match k {
            "quiet" => LoadKind::Quiet,
            "processes" => LoadKind::Processes(load),
            "threads" => LoadKind::Threads(load),
            other => panic!("unknown kind {other}: quiet, processes or threads"),
        })
        .collect();
    let wanted = |group: &str| args.is_empty() || args.iter().any(|a| a == group);

    const TRIPS: u64 = 20_000;
    const BYTES: u64 = 64 << 20;
    const ELEMS: u64 = 200_000;
    let round_trip_peers: Vec<&str> = ROUND_TRIP_ROWS
        .iter()
        .filter(|row| !row.is_native())
        .map(|row| row.name())
        .collect();
    let pattern = BytePattern::new();
    let p = &pattern;
    let gib_s = |d: Duration| BYTES as f64 / d.as_secs_f64() / f64::from(1u32 << 30);
    let melem_s = |d: Duration| ELEMS as f64 / d.as_secs_f64() / 1e6;
    let async_group = |name, runtime| Group {
        name,
        unit: "Melem/s",
        transfers: ELEMS,
        rows: [
            ("native_send", AsyncRow::NativeSend),
            ("native_sink", AsyncRow::NativeSink),
            ("tokio_mpsc256", AsyncRow::TokioMpsc),
            ("native_batch", AsyncRow::NativeBatch),
            ("tokio_mpsc_batch", AsyncRow::TokioMpscBatch),
        ]
        .into_iter()
        .map(|(row, how)| -> Row<'_> {
            (
                row,
                Box::new(move || melem_s(async_elements(runtime, how, ELEMS))),
            )
        })
        .collect(),
        references: &["tokio_mpsc256"][..],
    };
    let groups = [
        (
            "round_trip",
            Group {
                name: "stream_round_trip",
                unit: "ns",
                transfers: TRIPS,
                rows: ROUND_TRIP_ROWS
                    .iter()
                    .map(|&row| -> Row<'_> {
                        (row.name(), Box::new(move || per_op(row.time(TRIPS), TRIPS)))
                    })
                    .collect(),
                references: &round_trip_peers,
            },
        ),
        (
            "bulk",
            Group {
                name: "stream_bulk_u8",
                unit: "GiB/s",
                transfers: BYTES / BLOCK as u64,
                rows: [
                    BulkU8Row::ReadAhead(NativeBackend::Spin),
                    BulkU8Row::ReadAhead(NativeBackend::Futex),
                    BulkU8Row::ReadAhead(NativeBackend::Listener),
                    BulkU8Row::Batched(NativeBackend::Futex, 4),
                    BulkU8Row::WriteSlice(WriteSource::Aligned),
                    BulkU8Row::WriteSlice(WriteSource::UnalignedVec),
                    BulkU8Row::Recycled(BlockChannel::Crossbeam),
                    BulkU8Row::Recycled(BlockChannel::Std),
                ]
                .into_iter()
                .map(|row| -> Row<'_> { (row.name(), Box::new(move || gib_s(row.time(p, BYTES)))) })
                .collect(),
                references: &["crossbeam_bounded4", "sync_channel4"],
            },
        ),
        (
            "async",
            async_group("async_current_thread", Runtime::CurrentThread),
        ),
        (
            "async",
            async_group("async_multi_thread", Runtime::MultiThread),
        ),
    ];
    let mut csv = String::from("group,row,median,unit,reference,ratio,slowest\n");
    for kind in kinds {
        println!("== load: {kind:?}");
        let _load = Load::start(kind);
        for (flag, group) in &groups {
            if wanted(flag) {
                csv += &run(kind, group, rounds);
            }
        }
    }
    if let Some(path) = csv_path {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}
