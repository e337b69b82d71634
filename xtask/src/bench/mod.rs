//! `cargo xtask bench`: parsing the command's options (their help text is in `help.rs`),
//! running the criterion benches and the interleaved example under each machine profile, and
//! writing the report.
//!
//! May touch: runs cargo (`cargo bench -p benches`, building the `interleaved` example) with its
//! builds in the target directory, and the example; reads `/proc`, `/sys` and criterion's
//! files; writes `target/bench-report.md`, `target/bench-report.csv`, `target/floors.csv` and
//! `target/interleaved*.csv`. What the report knows is in [`tables`], the machine in
//! [`machine`], the profiles (and the halt-poll knob they may turn) in [`profile`], reading
//! criterion's files in [`criterion`], the table of one pass in [`report`], the interleaved
//! tables in [`interleaved`] and the past as a peer in [`baseline`].

mod baseline;
mod criterion;
mod help;
mod interleaved;
mod machine;
mod profile;
mod report;
mod tables;

pub(crate) use help::BENCH_HELP;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, describe, root, run};
use criterion::read_criterion;
use interleaved::interleaved_report;
use machine::{parse_floors, Machine};
use profile::{parse_profiles, HaltPollGuard, Profile};
use report::bench_report;

/// The bench targets of the `benches` crate, in the order they run.
const BENCH_TARGETS: &[&str] = &["events", "stream", "future", "async", "programs"];

/// One measured row, read back from criterion's files.
struct Measured {
    group: String,
    row: String,
    /// Median time per iteration, in nanoseconds.
    median_ns: f64,
    /// Bytes or elements per iteration, and the unit.
    throughput: Option<(f64, &'static str)>,
    /// The slowest sample's time per iteration, in nanoseconds.
    slowest_ns: Option<f64>,
}

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let mut full = false;
    let mut filter = None;
    let mut profiles = None;
    let mut baseline_rev = None;
    let mut rest = args.iter().peekable();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--full" => full = true,
            "--load" => {
                return Err(
                    "--load is now --profile busy-processes,busy-loops (the same loads, \
                            the same context-switch columns, every group of two threads)"
                        .into(),
                )
            }
            "--filter" => filter = Some(rest.next().ok_or("--filter needs a regex")?.clone()),
            "--profile" => {
                profiles = Some(parse_profiles(
                    rest.next().ok_or("--profile needs a list of profiles")?,
                )?)
            }
            "--baseline" => {
                baseline_rev = Some(rest.next().ok_or("--baseline needs a revision")?.clone())
            }
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
    // Alone, --baseline runs only the comparison.
    let profiles = profiles.unwrap_or_else(|| {
        if baseline_rev.is_some() {
            Vec::new()
        } else {
            vec![Profile::Quiet]
        }
    });
    let run = Run {
        full,
        rounds: if full { 40 } else { 15 },
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        start: Instant::now(),
        target_dir,
    };
    let command = format!(
        "cargo xtask bench{}{}{}{}",
        if full { " --full" } else { "" },
        filter
            .as_deref()
            .map(|f| format!(" --filter {f}"))
            .unwrap_or_default(),
        // Quiet alone is the default, but not beside --baseline.
        if profiles.is_empty() || (profiles == [Profile::Quiet] && baseline_rev.is_none()) {
            String::new()
        } else {
            let names: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
            format!(" --profile {}", names.join(","))
        },
        baseline_rev
            .as_deref()
            .map(|r| format!(" --baseline {r}"))
            .unwrap_or_default(),
    );
    println!("==> {command}");
    println!("==> building the interleaved example");
    run_cargo_build_example()?;
    let example = run
        .target_dir
        .join("release")
        .join("examples")
        .join("interleaved");

    // The machine first: the report opens with it.
    let machine = Machine::read();
    println!("==> the machine's floors (interleaved example, group `floors`)");
    let floors_csv = run.target_dir.join("floors.csv");
    run_example(&example, &["floors", &run.rounds.to_string()], &floors_csv)?;
    let floors = parse_floors(&read(&floors_csv)?);
    let machine_md = machine.markdown(&floors);
    println!("\n{machine_md}");

    let mut out = Outcome::default();
    let mut csv = String::new();
    let mut sections = String::new();
    for &profile in &profiles {
        if profile == Profile::Quiet {
            let (table, pass_csv) = run.criterion(filter.as_deref(), &mut out)?;
            sections.push_str(&table);
            csv = pass_csv;
            if filter.is_some() {
                continue;
            }
        }
        let guard = if profile == Profile::SlowWakeups {
            match HaltPollGuard::zero(&run.target_dir.join("bench-halt-poll.saved")) {
                Ok(guard) => Some(guard),
                Err(why) => {
                    let line = format!("profile slow-wakeups: {why}");
                    println!("SKIPPED: {line}");
                    sections.push_str(&format!("\n## Profile slow-wakeups\n\nSKIPPED: {why}.\n"));
                    out.skipped.push(line);
                    continue;
                }
            }
        } else {
            None
        };
        let section = run.profile(&example, profile, &mut out);
        if let Some(mut guard) = guard {
            // Restored here (and by the guard's drop on every other way out).
            guard.restore()?;
        }
        sections.push_str(&section?);
    }
    if let Some(rev) = &baseline_rev {
        // Two processes a round: fewer rounds than the interleaved tables.
        let rounds = if run.full { 25 } else { 9 };
        let report = baseline::baseline(rev, &run.target_dir, &example, rounds)?;
        sections.push_str(&report.markdown);
        out.regressions.extend(report.regressions);
    }
    let secs = run.start.elapsed().as_secs_f64();
    let mut markdown = format!(
        "# Benchmarks\n\nMade by `{command}` in {secs:.0} s on {} CPUs; load average before \
         {}, after {}.\n\n{machine_md}{sections}",
        run.cpus,
        machine.load,
        load_average()
    );
    markdown.push_str(&out.markdown());
    println!("==> report\n\n{markdown}");
    std::fs::create_dir_all(&run.target_dir).map_err(|e| e.to_string())?;
    let mut files = vec![("bench-report.md", &markdown)];
    if !csv.is_empty() {
        files.push(("bench-report.csv", &csv));
    }
    for (file, text) in files {
        let path = run.target_dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if profiles.contains(&Profile::Quiet) {
        println!(
            "criterion's HTML report: {}",
            run.target_dir
                .join("criterion")
                .join("report")
                .join("index.html")
                .display()
        );
    }
    out.print_verdict(secs);
    Ok(())
}

/// What a run found, beyond its tables.
#[derive(Debug, Default)]
struct Outcome {
    misses: Vec<String>,
    spreads: Vec<String>,
    regressions: Vec<String>,
    skipped: Vec<String>,
}

impl Outcome {
    /// The report's closing sections: spreads, regressions and skipped profiles, if any.
    fn markdown(&self) -> String {
        let mut md = String::new();
        for (title, lines) in [
            (
                "Spread: native rows whose slowest round is over 3× their median",
                &self.spreads,
            ),
            ("Regressions against the baseline", &self.regressions),
            ("Skipped", &self.skipped),
        ] {
            if !lines.is_empty() {
                md.push_str(&format!("\n## {title}\n\n"));
                for line in lines {
                    md.push_str(&format!("- {line}\n"));
                }
            }
        }
        md
    }

    /// Prints the targets missed (or that all were met), the spreads, regressions and skips.
    fn print_verdict(&self, secs: f64) {
        print_verdict(&self.misses, secs);
        for (label, lines) in [
            ("SPREAD", &self.spreads),
            ("REGRESSION", &self.regressions),
            ("SKIPPED", &self.skipped),
        ] {
            for line in lines {
                println!("  {label}: {line}");
            }
        }
    }
}

/// What every part of a run shares.
struct Run {
    full: bool,
    rounds: usize,
    cpus: usize,
    start: Instant,
    target_dir: PathBuf,
}

impl Run {
    /// The criterion pass: its table (with its heading) and CSV; its misses and spreads go to
    /// `out`.
    fn criterion(
        &self,
        filter: Option<&str>,
        out: &mut Outcome,
    ) -> Result<(String, String), String> {
        let full = self.full;
        let criterion_dir = self.target_dir.join("criterion");
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
            // A short pass: the targets it shares with the interleaved table are decided
            // there, and the whole run stays under five minutes with a fresh build.
            criterion_args.extend([
                "--warm-up-time",
                "0.2",
                "--measurement-time",
                "0.8",
                "--sample-size",
                "10",
                // Criterion's plots estimate densities of its bootstrap resamples: at the
                // default 100 000 they cost 5 s a row, at 10 000 half a second.
                "--nresamples",
                "10000",
            ]);
        }
        if let Some(f) = filter {
            criterion_args.push(f);
        }
        let profile = if full { "full" } else { "quick" };
        println!(
            "==> criterion: {profile} profile, stream_bulk_u8 {bytes} bytes and \
             stream_bulk_u64 {elems} u64s per iteration, load average {}",
            load_average()
        );
        let start = self.start;
        let pass_start = Instant::now();
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
        let secs = pass_start.elapsed().as_secs_f64();
        let measured = read_criterion(&criterion_dir, since)?;
        if measured.is_empty() {
            return Err(format!(
                "no measurement written to {} in this run (does the filter match any row?)",
                criterion_dir.display()
            ));
        }
        let header = format!(
            "## Criterion, one pass (quiet)\n\n\
             {profile} profile, {secs:.0} s. `stream_bulk_u8` moves \
             {bytes} bytes per iteration (NATIVE_STREAM_BENCH_BYTES; the issue's reference size \
             is 1Gi{}), `stream_bulk_u64` {elems} `u64`s (NATIVE_STREAM_BENCH_ELEMS). Median is \
             criterion's median time per iteration, slowest its slowest sample's; the ratios are \
             of medians, so below 1 is faster (for throughput, the inverse); targets compare rows \
             of this run, `best peer` the fastest peer of the group (rtrb, which spins on both \
             sides, is a floor, not a peer). A target that the interleaved table below also \
             checks is decided there.",
            if full { "" } else { ": `--full` runs it" },
        );
        let (markdown, csv, misses, spreads) = bench_report(&measured, filter.is_none(), &header);
        out.misses.extend(misses);
        out.spreads.extend(spreads);
        Ok((markdown, csv))
    }

    /// The interleaved groups under `profile`: its section; misses and spreads go to `out`. A
    /// target the quiet interleaved table checks is decided there, not by the criterion pass.
    fn profile(
        &self,
        example: &Path,
        profile: Profile,
        out: &mut Outcome,
    ) -> Result<String, String> {
        // The other profiles take longer a round, and disturb the machine for others.
        let rounds = match profile {
            Profile::Quiet => self.rounds,
            _ if self.full => 15,
            _ => 5,
        };
        println!(
            "==> profile {}: interleaved ratios, {rounds} rounds ({:.0} s so far)",
            profile.name(),
            self.start.elapsed().as_secs_f64()
        );
        let csv_path = self.target_dir.join(if profile == Profile::Quiet {
            "interleaved.csv".to_string()
        } else {
            format!("interleaved-{}.csv", profile.name())
        });
        let mut args = profile.example_args(self.cpus);
        args.insert(1, rounds.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_example(example, &args, &csv_path)?;
        let text = read(&csv_path)?;
        let heading = format!(
            "\n## Interleaved ratios, profile {}\n\n\
             {}. `{} --csv {}`: each round runs every row of a group once, the ratio to the \
             reference is taken within the round, and the table gives the medians over {rounds} \
             rounds, and each row's slowest round (bulk rows move 64 MiB or 2 Mi `u64`s a \
             round; round trips 10 000 a round, 20 000 disturbed; groups `…/csw`, in the busy \
             profiles: context switches, voluntary and involuntary, per transfer: round trip, \
             64 KiB block, element). Of the peers of a group the table shows the \
             best (the CSV has them all). On a shared machine these ratios are the ones to \
             decide by: a target checked here is met or missed by this table, whatever the \
             criterion table says.\n\n",
            profile.name(),
            profile.describe(self.cpus),
            std::iter::once("interleaved")
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" "),
            csv_path
                .file_name()
                .map_or(String::new(), |f| format!("target/{}", f.to_string_lossy())),
        );
        let report = interleaved_report(&text, heading, profile.exempt(), profile.name())?;
        if profile == Profile::Quiet {
            // A target the interleaved table checks is decided there, not by the one pass.
            out.misses.retain(|miss| {
                !report
                    .covered
                    .iter()
                    .any(|(group, row)| miss.starts_with(&format!("{group}/{row}: ")))
            });
        }
        out.misses.extend(report.misses);
        out.spreads.extend(report.spreads);
        Ok(report.markdown)
    }
}

/// Builds the interleaved example (release).
fn run_cargo_build_example() -> Result<(), String> {
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "benches",
        "--example",
        "interleaved",
    ]))
}

/// Runs the built interleaved example with `args`, writing its CSV to `csv`.
fn run_example(example: &Path, args: &[&str], csv: &Path) -> Result<(), String> {
    let mut cmd = Command::new(example);
    cmd.args(args).arg("--csv").arg(csv);
    run(&mut cmd)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
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
