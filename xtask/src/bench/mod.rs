//! `cargo xtask bench`: the command's options and help, running the criterion benches and the
//! interleaved example, and writing the report.
//!
//! May touch: runs cargo (`cargo bench -p benches`, the `interleaved` example) with its builds
//! in the target directory; reads `/proc/loadavg` and criterion's files; writes
//! `target/bench-report.md`, `target/bench-report.csv` and `target/interleaved.csv`. What the
//! report knows is in [`tables`], reading criterion's files in [`criterion`], the table of one
//! pass in [`report`] and the interleaved table in [`interleaved`].

mod criterion;
mod interleaved;
mod report;
mod tables;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::{cargo, describe, root, run};
use criterion::read_criterion;
use interleaved::{interleaved_report, loaded_report};
use report::bench_report;

pub(crate) const BENCH_HELP: &str = "\
usage: cargo xtask bench [--full] [--filter <regex>]
       cargo xtask bench --load [N] [--full]

Runs every criterion bench of the `benches` crate (events, stream, future, async): every
backend of every crate beside the primitives users would otherwise pick, in one run. Prints one
table (median per iteration, throughput, ratio to the best peer and to the floor of the same
group, the issue targets and whether they are met), writes it to target/bench-report.md and
target/bench-report.csv, and leaves criterion's HTML report in target/criterion/report/.
Without --filter it then runs the interleaved example (15 rounds, 40 with --full), whose
median ratios (robust to a shared machine's swings) are a second table of the report, with
the targets they compare; their CSV is target/interleaved.csv.

Options:
  (none)            quick profile, about 3 minutes on a 2-core machine: criterion's
                    --warm-up-time 0.3 --measurement-time 1 --sample-size 10
                    --nresamples 10000, and bulk transfers of
                    NATIVE_STREAM_BENCH_BYTES=16Mi bytes and NATIVE_STREAM_BENCH_ELEMS=2Mi
                    u64s per iteration
  --full            criterion's normal measurement times; bulk bytes at the issue's
                    reference size, 1Gi, and u64s at the bench default, 16Mi
  --filter <regex>  only the rows whose id (group/row, e.g. `stream_round_trip/futex`,
                    `future/reader_waiting/oneshot`) matches, as criterion's filter does
  --load [N]        the loaded profile instead (Linux): the `loaded` example runs the
                    round-trip, bulk and async (tokio current_thread and multi-thread) groups
                    quiet, beside N busy processes and beside N busy threads (N: one per CPU
                    by default), interleaved, 5 rounds (15 with --full), with context
                    switches per transfer; about 4 minutes on a 2-core machine. Its table
                    and targets go to target/bench-report.md, its CSV to target/loaded.csv
  -h, --help        this text

NATIVE_STREAM_BENCH_BYTES and NATIVE_STREAM_BENCH_ELEMS, when set, override both profiles.
Rows run on a busy machine measure the machine: the report records the load average before
and after. A missed target is reported, not an error; the exit status is non-zero only when
a bench fails to run.";

/// The bench targets of the `benches` crate, in the order they run.
const BENCH_TARGETS: &[&str] = &["events", "stream", "future", "async"];

/// One measured row, read back from criterion's files.
struct Measured {
    group: String,
    row: String,
    /// Median time per iteration, in nanoseconds.
    median_ns: f64,
    /// Bytes or elements per iteration, and the unit.
    throughput: Option<(f64, &'static str)>,
}

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let mut full = false;
    let mut filter = None;
    let mut load = None;
    let mut rest = args.iter().peekable();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--full" => full = true,
            "--load" => {
                let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
                load = Some(match rest.peek().and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) => {
                        rest.next();
                        n
                    }
                    None => cpus,
                });
            }
            "--filter" => filter = Some(rest.next().ok_or("--filter needs a regex")?.clone()),
            "-h" | "--help" => {
                println!("{BENCH_HELP}");
                return Ok(());
            }
            other => {
                return Err(format!(
                    "unknown option {other} (see cargo xtask bench --help)"
                ))
            }
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    if let Some(load) = load {
        if filter.is_some() {
            return Err("--load runs the loaded profile, which has no --filter".into());
        }
        return loaded(&target_dir, load, full);
    }
    let criterion_dir = target_dir.join("criterion");
    let (bytes, elems) = match (
        full,
        std::env::var("NATIVE_STREAM_BENCH_BYTES"),
        std::env::var("NATIVE_STREAM_BENCH_ELEMS"),
    ) {
        (_, Ok(b), Ok(e)) => (b, e),
        (true, b, e) => (
            b.unwrap_or_else(|_| "1Gi".into()),
            e.unwrap_or_else(|_| "16Mi".into()),
        ),
        (false, b, e) => (
            b.unwrap_or_else(|_| "16Mi".into()),
            e.unwrap_or_else(|_| "2Mi".into()),
        ),
    };
    let mut criterion_args: Vec<&str> = Vec::new();
    if !full {
        criterion_args.extend([
            "--warm-up-time",
            "0.3",
            "--measurement-time",
            "1",
            "--sample-size",
            "10",
            // Criterion's plots estimate densities of its bootstrap resamples: at the default
            // 100 000 they cost 5 s a row, at 10 000 half a second.
            "--nresamples",
            "10000",
        ]);
    }
    if let Some(f) = &filter {
        criterion_args.push(f);
    }
    let profile = if full { "full" } else { "quick" };
    let load_before = load_average();
    println!(
        "==> cargo xtask bench: {profile} profile, stream_bulk_u8 {bytes} bytes and \
         stream_bulk_u64 {elems} u64s per iteration, load average {load_before}"
    );
    let start = Instant::now();
    // A second of slack: criterion's files written in this run are newer than this.
    let since = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    println!("==> building the benches");
    run(cargo().args(["bench", "--locked", "-p", "benches", "--no-run"]))?;
    for (k, name) in BENCH_TARGETS.iter().enumerate() {
        println!(
            "==> [{}/{}] bench {name} ({:.0} s so far)",
            k + 1,
            BENCH_TARGETS.len(),
            start.elapsed().as_secs_f64()
        );
        let mut cmd = cargo();
        cmd.args(["bench", "--locked", "-p", "benches", "--bench", name, "--"])
            .args(&criterion_args)
            .env("NATIVE_STREAM_BENCH_BYTES", &bytes)
            .env("NATIVE_STREAM_BENCH_ELEMS", &elems);
        run_bench(&mut cmd, start)?;
    }
    let secs = start.elapsed().as_secs_f64();
    let load_after = load_average();
    let measured = read_criterion(&criterion_dir, since)?;
    if measured.is_empty() {
        return Err(format!(
            "no measurement written to {} in this run (does the filter match any row?)",
            criterion_dir.display()
        ));
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let header = format!(
        "Made by `cargo xtask bench{}{}` ({profile} profile) in {secs:.0} s on {cpus} CPUs; \
         load average before {load_before}, after {load_after}. `stream_bulk_u8` moves \
         {bytes} bytes per iteration (NATIVE_STREAM_BENCH_BYTES; the issue's reference size \
         is 1Gi{}), `stream_bulk_u64` {elems} `u64`s (NATIVE_STREAM_BENCH_ELEMS). Median is \
         criterion's median time per iteration; the ratios are of medians, so below 1 is \
         faster (for throughput, the inverse); targets compare rows of this run. A target \
         that the interleaved table below also checks is decided there.",
        if full { " --full" } else { "" },
        filter
            .as_deref()
            .map(|f| format!(" --filter {f}"))
            .unwrap_or_default(),
        if full { "" } else { ": `--full` runs it" },
    );
    let (mut markdown, csv, mut misses) = bench_report(&measured, filter.is_none(), &header);
    if filter.is_none() {
        // The two-thread ratios again, interleaved: robust to the machine's swings between
        // rows, which the table above is not.
        let rounds = if full { 40 } else { 15 };
        println!(
            "==> interleaved ratios, {rounds} rounds ({:.0} s so far)",
            start.elapsed().as_secs_f64()
        );
        let path = target_dir.join("interleaved.csv");
        run(cargo()
            .args(["run", "--locked", "--release", "-p", "benches"])
            .args(["--example", "interleaved", "--", "all", &rounds.to_string()])
            .arg("--csv")
            .arg(&path))?;
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (section, covered, interleaved_misses) = interleaved_report(&text, rounds)?;
        markdown.push_str(&section);
        // A target the interleaved table checks is decided there, not by the one pass above.
        misses.retain(|miss| {
            !covered
                .iter()
                .any(|(group, row)| miss.starts_with(&format!("{group}/{row}: ")))
        });
        misses.extend(interleaved_misses);
    }
    println!("==> report\n\n{markdown}");
    std::fs::create_dir_all(&target_dir).map_err(|e| e.to_string())?;
    for (file, text) in [("bench-report.md", &markdown), ("bench-report.csv", &csv)] {
        let path = target_dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "criterion's HTML report: {}",
        criterion_dir.join("report").join("index.html").display()
    );
    print_verdict(&misses, secs);
    Ok(())
}

/// The loaded profile: runs the `loaded` example with `load` busy processes and threads and
/// writes its report.
fn loaded(target_dir: &std::path::Path, load: usize, full: bool) -> Result<(), String> {
    let rounds = if full { 15 } else { 5 };
    let load_before = load_average();
    println!("==> cargo xtask bench --load {load}: {rounds} rounds, load average {load_before}");
    let start = Instant::now();
    std::fs::create_dir_all(target_dir).map_err(|e| e.to_string())?;
    let path = target_dir.join("loaded.csv");
    run(cargo()
        .args(["run", "--locked", "--release", "-p", "benches"])
        .args([
            "--example",
            "loaded",
            "--",
            "--kinds",
            "quiet,processes,threads",
        ])
        .args(["--load", &load.to_string(), "--rounds", &rounds.to_string()])
        .arg("--csv")
        .arg(&path))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (section, _, misses) = loaded_report(&text, load, rounds)?;
    let secs = start.elapsed().as_secs_f64();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let markdown = format!(
        "# Loaded profile\n\nMade by `cargo xtask bench --load {load}{}` in {secs:.0} s on {cpus} \
         CPUs; load average before {load_before}, after {}.\n{section}",
        if full { " --full" } else { "" },
        load_average()
    );
    println!("==> report\n\n{markdown}");
    let report = target_dir.join("bench-report.md");
    std::fs::write(&report, &markdown).map_err(|e| format!("{}: {e}", report.display()))?;
    println!("wrote {}", report.display());
    print_verdict(&misses, secs);
    Ok(())
}

/// Prints the targets missed, or that all were met.
fn print_verdict(misses: &[String], secs: f64) {
    if misses.is_empty() {
        println!("all targets met ({secs:.0} s)");
    } else {
        println!("MISSED {} target(s) ({secs:.0} s):", misses.len());
        for miss in misses {
            println!("  MISSED: {miss}");
        }
    }
}

/// The 1, 5 and 15 minute load averages, or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs one bench binary through cargo, printing one progress line per finished row
/// (criterion's id and its `time:` / `thrpt:` lines) and passing on everything on stderr but
/// criterion's "Benchmarking ..." chatter.
fn run_bench(cmd: &mut Command, start: Instant) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    println!("  $ {}", describe(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", describe(cmd)))?;
    let stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !line.starts_with("Benchmarking ") {
                eprintln!("  {line}");
            }
        }
    });
    let stdout = child.stdout.take().expect("piped");
    let mut id = String::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let trimmed = line.trim();
        let stats = ["time:", "thrpt:"]
            .iter()
            .find_map(|key| Some((*key, trimmed.split_once(key)?)));
        match stats {
            Some((key, (before, after))) => {
                if !before.trim().is_empty() {
                    id = before.trim().to_string();
                }
                let label = if key == "time:" { id.as_str() } else { "" };
                println!(
                    "  {:>4.0} s  {label:<44} {key:<6} {}",
                    start.elapsed().as_secs_f64(),
                    after.trim()
                );
            }
            None if !line.starts_with(char::is_whitespace) && !trimmed.is_empty() => {
                id = trimmed.to_string();
            }
            None => {}
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = errors.join();
    if status.success() {
        Ok(())
    } else {
        Err(format!("failed ({status}): {}", describe(cmd)))
    }
}
