//! Project automation: `cargo xtask <command>`.
//!
//! * `ci`: everything `.ci/run` checks, stage by stage, with each stage's duration: format,
//!   clippy, docs, the README's test command, building the benchmarks, the loom models, Miri (stacked and tree
//!   borrows, several seeds) and ThreadSanitizer. A stage whose tool cannot be had prints a
//!   loud `SKIPPED: <stage> (<reason>)` line and the run goes on; a stage is never reported
//!   as passed when it did not run.
//!
//! * `mutants`: builds the loom models and the Miri suites with `--cfg stream_mutants`, then
//!   runs them once per mutant (one Acquire/Release weakened to Relaxed, or one "check
//!   again" step removed, chosen at run time by `STREAM_MUTANT`), and writes which test
//!   caught each mutant to `docs/mutants.md`. A mutant that no test catches fails the run.
//!   Under Miri each mutant runs only the suites of the code it changes, for a few seeds and
//!   within a time limit (`--miri-seeds`, `--miri-limit`); `--no-miri` skips Miri,
//!   `--miri-only` skips loom and the unit tests and keeps their columns from the table.
//!
//! * `bench`: runs the criterion benches of `benches` (every backend beside its peers and
//!   floors, quick profile by default), prints one table of medians, throughputs, ratios to
//!   the best peer and the floor and the issue targets met or missed, and writes it to
//!   `target/bench-report.md` and `target/bench-report.csv` (criterion's HTML report stays in
//!   `target/criterion/report/`). A missed target is reported, not an error.
//!
//! Options of `ci`: `--quick` runs only format, clippy, docs, tests and the benchmark build;
//! `--only <stage>` runs one stage (`fmt`, `clippy`, `doc`, `test`, `benches`, `loom`,
//! `miri`, `tsan`). Options of `bench`: see
//! `cargo xtask bench --help` ([`BENCH_HELP`]).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The README's test command (keep the two in step).
const TEST_COMMAND: &[&str] = &["test", "--workspace", "--all-features", "--locked"];

/// The tests run under Miri (the C layout test compiles C, which Miri cannot run).
const MIRI_TARGETS: &[&[&str]] = &[
    &["-p", "stream-abi", "--lib"],
    &["-p", "stream-events", "--test", "suite"],
    &[
        "-p",
        "stream-core",
        "--lib",
        "--test",
        "behaviour",
        "--test",
        "matrix",
        "--test",
        "stress",
    ],
    &[
        "-p",
        "stream-future",
        "--lib",
        "--test",
        "future",
        "--test",
        "release",
    ],
    &[
        "-p",
        "stream-async",
        "--lib",
        "--test",
        "drops",
        "--test",
        "executor",
    ],
];

/// The threaded tests run under ThreadSanitizer.
const TSAN_TARGETS: &[&[&str]] = &[
    &["-p", "stream-events", "--test", "suite"],
    &[
        "-p",
        "stream-core",
        "--test",
        "behaviour",
        "--test",
        "matrix",
        "--test",
        "stress",
    ],
    &["-p", "stream-future", "--test", "future"],
    &["-p", "stream-async", "--test", "executor"],
];

/// Miri seeds run with Stacked Borrows; Tree Borrows runs the first of them.
const MIRI_SEEDS: &[u32] = &[1, 2, 3];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("mutants") => mutants(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask ci [--quick | --only <stage>]");
            eprintln!("       {MUTANTS_USAGE}");
            eprintln!("       cargo xtask bench [--full] [--filter <regex>] (--help: details)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// `cargo +nightly`: rustup's proxy picks the toolchain.
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly").current_dir(root());
    // The stable cargo's environment must not leak into the nightly one.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN"] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command) -> Result<(), String> {
    println!("  $ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("{}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("failed ({status}): {}", describe(cmd)))
    }
}

fn describe(cmd: &Command) -> String {
    let envs: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
        .collect();
    let args: Vec<&str> = cmd.get_args().filter_map(|a| a.to_str()).collect();
    format!(
        "{}{}{} {}",
        envs.join(" "),
        if envs.is_empty() { "" } else { " " },
        cmd.get_program().to_string_lossy(),
        args.join(" ")
    )
}

/// The outcome of one stage.
enum Outcome {
    Passed,
    Skipped(String),
}

fn ci(args: &[String]) -> Result<(), String> {
    type Stage = (&'static str, fn() -> Result<Outcome, String>);
    let stages: [Stage; 8] = [
        ("fmt", stage_fmt),
        ("clippy", stage_clippy),
        ("doc", stage_doc),
        ("test", stage_test),
        ("benches", stage_benches),
        ("loom", stage_loom),
        ("miri", stage_miri),
        ("tsan", stage_tsan),
    ];
    let selected: Vec<&Stage> = match args.first().map(String::as_str) {
        None => stages.iter().collect(),
        Some("--quick") => stages.iter().take(5).collect(),
        Some("--only") => {
            let name = args.get(1).ok_or("--only needs a stage name")?;
            let s: Vec<&Stage> = stages.iter().filter(|(n, _)| n == name).collect();
            if s.is_empty() {
                return Err(format!("no stage {name}"));
            }
            s
        }
        Some(other) => return Err(format!("unknown option {other}")),
    };
    let start = Instant::now();
    let mut report = Vec::new();
    let mut failed = None;
    for (name, stage) in selected {
        println!("==> stage {name}");
        let t = Instant::now();
        let outcome = stage();
        let secs = t.elapsed().as_secs_f64();
        match outcome {
            Ok(Outcome::Passed) => report.push(format!("{name:<7} passed   {secs:>7.1} s")),
            Ok(Outcome::Skipped(why)) => {
                println!("SKIPPED: {name} ({why})");
                report.push(format!("{name:<7} SKIPPED  {secs:>7.1} s  ({why})"));
            }
            Err(e) => {
                report.push(format!("{name:<7} FAILED   {secs:>7.1} s"));
                failed = Some(format!("stage {name}: {e}"));
                break;
            }
        }
    }
    println!("==> summary");
    for line in &report {
        println!("  {line}");
    }
    println!("  total   {:.1} s", start.elapsed().as_secs_f64());
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn stage_fmt() -> Result<Outcome, String> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    Ok(Outcome::Passed)
}

fn stage_clippy() -> Result<Outcome, String> {
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok(Outcome::Passed)
}

fn stage_doc() -> Result<Outcome, String> {
    run(cargo()
        .args([
            "doc",
            "--workspace",
            "--no-deps",
            "--all-features",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    Ok(Outcome::Passed)
}

fn stage_test() -> Result<Outcome, String> {
    run(cargo().args(TEST_COMMAND))?;
    Ok(Outcome::Passed)
}

/// Builds the benchmarks (without running them) so that they never rot.
fn stage_benches() -> Result<Outcome, String> {
    run(cargo().args(["bench", "--locked", "-p", "benches", "--no-run"]))?;
    Ok(Outcome::Passed)
}

fn stage_loom() -> Result<Outcome, String> {
    let target = root().join("target").join("loom");
    for (krate, test) in [
        ("stream-events", "loom"),
        ("stream-core", "loom"),
        ("stream-future", "loom"),
    ] {
        run(cargo()
            .args(["test", "--locked", "--release", "-p", krate, "--test", test])
            .args(["--", "--nocapture", "--test-threads", "1"])
            .env("RUSTFLAGS", "--cfg stream_loom")
            .env("CARGO_TARGET_DIR", &target))?;
    }
    Ok(Outcome::Passed)
}

/// Makes sure nightly has `components`; returns why not if it cannot.
fn nightly_with(components: &[&str]) -> Result<(), String> {
    let have = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "nightly"])
        .output();
    let installed = match have {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            println!("  installing the nightly toolchain");
            let ok = Command::new("rustup")
                .args(["toolchain", "install", "nightly", "--profile", "minimal"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err("rustup could not install nightly".into());
            }
            String::new()
        }
    };
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| !installed.lines().any(|l| l.starts_with(c)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("  installing nightly components: {}", missing.join(" "));
    let ok = Command::new("rustup")
        .args(["component", "add", "--toolchain", "nightly"])
        .args(&missing)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("rustup could not add {}", missing.join(" ")))
    }
}

fn stage_miri() -> Result<Outcome, String> {
    if let Err(why) = nightly_with(&["miri", "rust-src"]) {
        return Ok(Outcome::Skipped(why));
    }
    let target = root().join("target").join("miri");
    run(nightly_cargo()
        .args(["miri", "setup"])
        .env("CARGO_TARGET_DIR", &target))?;
    let mut runs: Vec<(String, String)> = MIRI_SEEDS
        .iter()
        .map(|s| {
            (
                format!("stacked borrows, seed {s}"),
                format!("-Zmiri-seed={s}"),
            )
        })
        .collect();
    runs.push((
        format!("tree borrows, seed {}", MIRI_SEEDS[0]),
        format!("-Zmiri-tree-borrows -Zmiri-seed={}", MIRI_SEEDS[0]),
    ));
    for (what, flags) in runs {
        println!("  miri: {what}");
        let flags = format!("-Zmiri-strict-provenance {flags}");
        for targets in MIRI_TARGETS {
            run(nightly_cargo()
                .args(["miri", "test", "--locked"])
                .args(*targets)
                .env("MIRIFLAGS", &flags)
                .env("CARGO_TARGET_DIR", &target))?;
        }
    }
    Ok(Outcome::Passed)
}

fn stage_tsan() -> Result<Outcome, String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Ok(Outcome::Skipped(
            "ThreadSanitizer is run on x86_64 Linux only".into(),
        ));
    }
    if let Err(why) = nightly_with(&["rust-src"]) {
        return Ok(Outcome::Skipped(why));
    }
    let target = root().join("target").join("tsan");
    for targets in TSAN_TARGETS {
        run(nightly_cargo()
            .args([
                "test",
                "--locked",
                "-Zbuild-std",
                "--target",
                "x86_64-unknown-linux-gnu",
            ])
            .args(*targets)
            .env("RUSTFLAGS", "-Zsanitizer=thread")
            .env("TSAN_OPTIONS", "halt_on_error=1")
            .env("STREAM_STRESS_ELEMENTS", "1000000")
            .env("CARGO_TARGET_DIR", &target))?;
    }
    Ok(Outcome::Passed)
}

/// The mutants: (id, what it changes). Each id is named at its site in the source.
const MUTANTS: &[(&str, &str)] = &[
    (
        "state-load-acquire",
        "stream-core: every Acquire load of `state` (waiters, polls) -> Relaxed",
    ),
    (
        "acquire-reader-acquire",
        "stream-core: CAS taking READER_BUSY, Acquire -> Relaxed",
    ),
    (
        "lend-release",
        "stream-core: IDLE -> LENT publishing the buffer, SeqCst -> Relaxed",
    ),
    (
        "reclaim-acquire",
        "stream-core: LENT -> IDLE reclaim CAS, Acquire -> Relaxed",
    ),
    (
        "reclaim-release",
        "stream-core: READER_BUSY release after a reclaim, Release -> Relaxed",
    ),
    (
        "take-count-release",
        "stream-core: DONE -> IDLE after taking the count, Release -> Relaxed",
    ),
    (
        "relend-release",
        "stream-core: DONE -> LENT relend of a read-ahead, SeqCst -> Relaxed",
    ),
    (
        "close-read-release",
        "stream-core: setting READER_CLOSED, SeqCst -> Relaxed",
    ),
    (
        "start-writing-acquire",
        "stream-core: LENT -> WRITING in `start_writing`, Acquire -> Relaxed",
    ),
    (
        "acquire-writer-acquire",
        "stream-core: CAS taking WRITER_BUSY (or the buffer), Acquire -> Relaxed",
    ),
    (
        "wait-take-acquire",
        "stream-core: LENT -> WRITING after a wait, Acquire -> Relaxed",
    ),
    (
        "deliver-release",
        "stream-core: future delivery LENT -> DONE, SeqCst -> Relaxed",
    ),
    (
        "commit-release",
        "stream-core: WRITING -> DONE commit, SeqCst -> Relaxed",
    ),
    (
        "return-release",
        "stream-core: WRITING -> LENT returned loan, SeqCst -> Relaxed",
    ),
    (
        "close-write-release",
        "stream-core: setting WRITER_CLOSED, SeqCst -> Relaxed",
    ),
    (
        "release-count-release",
        "stream-core: handle release that leaves others, Release -> Relaxed",
    ),
    (
        "release-count-acquire",
        "stream-core: the last-handle check's read of the count, Acquire -> Relaxed",
    ),
    (
        "release-count-acqrel",
        "stream-core: handle release fetch_sub, AcqRel -> Relaxed",
    ),
    (
        "futex-activate-acqrel",
        "stream-events: futex activate fetch_add, AcqRel -> Relaxed",
    ),
    (
        "futex-park-fence",
        "stream-events: futex park without the SeqCst fence after announcing",
    ),
    (
        "futex-recheck",
        "stream-events: futex park without re-checking the condition",
    ),
    (
        "futex-compare",
        "stream-events: futex (emulated) sleep without comparing the word",
    ),
    (
        "listener-recheck",
        "stream-events: listener park without re-checking the condition",
    ),
];

/// Loom suites run per mutant: (crate, test).
const MUTANT_LOOM: &[(&str, &str)] = &[
    ("stream-events", "loom"),
    ("stream-core", "loom"),
    ("stream-future", "loom"),
];

const MUTANTS_USAGE: &str = "cargo xtask mutants [--no-miri | --miri-only] [--miri-seeds <n>] \
                             [--miri-limit <seconds>] [<mutant>...]";

/// Miri's flags for the mutant runs (the seed is added per run). The mutant is chosen by an
/// environment variable, which Miri's isolation hides from the program unless it is
/// forwarded. Stacked Borrows is off: a mutant changes an ordering, not an aliasing pattern
/// (`cargo xtask ci`'s Miri stage checks aliasing, on the unmutated code), and the data-race
/// detector and weak-memory emulation, which are what can see a weakened ordering, stay on.
const MUTANT_MIRIFLAGS: &str =
    "-Zmiri-strict-provenance -Zmiri-disable-stacked-borrows -Zmiri-env-forward=STREAM_MUTANT";

/// Default number of Miri seeds per mutant (seeds 1..=n, stopping at the first that catches).
const MUTANT_MIRI_SEEDS: u32 = 3;

/// Default time limit, in seconds, for one mutant's Miri runs (all its seeds and suites).
const MUTANT_MIRI_LIMIT: u64 = 180;

/// The Miri suites run for `id`: the tests of the code the mutant changes.
fn mutant_miri_suites(id: &str) -> &'static [&'static [&'static str]] {
    const EVENTS: &[&[&str]] = &[
        &["-p", "stream-events", "--test", "suite"],
        &["-p", "stream-core", "--test", "matrix"],
    ];
    const CORE: &[&[&str]] = &[
        &["-p", "stream-core", "--test", "matrix"],
        &["-p", "stream-core", "--test", "behaviour"],
    ];
    const FUTURE: &[&[&str]] = &[&["-p", "stream-future", "--test", "future"]];
    // The emulated futex is built for loom and for targets without futex(2): Miri interprets
    // a macOS build of the suite (it needs no macOS machine, only that target's sysroot).
    const EMULATED: &[&[&str]] = &[&[
        "-p",
        "stream-events",
        "--test",
        "suite",
        "--target",
        "x86_64-apple-darwin",
    ]];
    match id {
        "futex-compare" => EMULATED,
        "deliver-release" => FUTURE,
        _ if id.starts_with("futex-") || id.starts_with("listener-") => EVENTS,
        _ => CORE,
    }
}

/// Every suite some mutant runs under Miri, once each (the baseline runs these).
fn all_mutant_miri_suites() -> Vec<&'static [&'static str]> {
    let mut all: Vec<&[&str]> = Vec::new();
    for (id, _) in MUTANTS {
        for suite in mutant_miri_suites(id) {
            if !all.contains(suite) {
                all.push(suite);
            }
        }
    }
    all
}

/// A test suite's label: `crate::test`, and the target when it is not the host.
fn suite_label(suite: &[&str]) -> String {
    match suite.iter().position(|a| *a == "--target") {
        Some(i) => format!("{}::{} [{}]", suite[1], suite[3], suite[i + 1]),
        None => format!("{}::{}", suite[1], suite[3]),
    }
}

struct MutantOptions {
    loom: bool,
    miri: bool,
    seeds: u32,
    limit: std::time::Duration,
    chosen: Vec<String>,
}

fn mutant_options(args: &[String]) -> Result<MutantOptions, String> {
    let mut opts = MutantOptions {
        loom: true,
        miri: true,
        seeds: MUTANT_MIRI_SEEDS,
        limit: std::time::Duration::from_secs(MUTANT_MIRI_LIMIT),
        chosen: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(a) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&v| v > 0)
                .ok_or(format!(
                    "{a} needs a positive {what}; usage: {MUTANTS_USAGE}"
                ))
        };
        match a.as_str() {
            "--no-miri" => opts.miri = false,
            "--miri-only" => opts.loom = false,
            "--miri-seeds" => {
                opts.seeds = u32::try_from(value("number")?).map_err(|e| e.to_string())?;
            }
            "--miri-limit" => opts.limit = std::time::Duration::from_secs(value("number")?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}; {MUTANTS_USAGE}")),
            id => {
                if !MUTANTS.iter().any(|(m, _)| *m == id) {
                    return Err(format!("no mutant {id}"));
                }
                opts.chosen.push(id.to_string());
            }
        }
    }
    if !opts.loom && !opts.miri {
        return Err("--no-miri and --miri-only leave nothing to run".into());
    }
    Ok(opts)
}

/// The loom and unit cells of `docs/mutants.md`'s table, by mutant id (for `--miri-only`).
fn previous_columns(doc: &Path) -> std::collections::HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    let mut cells = std::collections::HashMap::new();
    for line in text.lines() {
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let parts: Vec<&str> = row.split(" | ").collect();
        if let [id, _what, loom, unit, ..] = parts.as_slice() {
            if let Some(id) = id.strip_suffix('`') {
                cells.insert(id.to_string(), (loom.to_string(), unit.to_string()));
            }
        }
    }
    cells
}

/// Whether a table cell names a catch.
fn cell_catches(cell: &str) -> bool {
    !(cell.is_empty()
        || cell.starts_with('—')
        || cell.starts_with("not run")
        || cell.starts_with("n/a")
        || cell.starts_with("timed out"))
}

fn mutants(args: &[String]) -> Result<(), String> {
    let opts = mutant_options(args)?;
    let start = Instant::now();
    let list: Vec<&(&str, &str)> = MUTANTS
        .iter()
        .filter(|(id, _)| opts.chosen.is_empty() || opts.chosen.iter().any(|c| c == id))
        .collect();
    let doc = root().join("docs").join("mutants.md");
    let previous = previous_columns(&doc);
    // Hand-written notes at the end of the file survive a rewrite.
    let notes = std::fs::read_to_string(&doc).ok().and_then(|text| {
        let at = text.find("\n## Notes\n")?;
        Some(text[at + 1..].to_string())
    });
    let loom_target = root().join("target").join("mutants-loom");
    let miri_target = root().join("target").join("mutants-miri");
    let loom_cmd = |krate: &str, test: &str| {
        let mut cmd = cargo();
        cmd.args(["test", "--locked", "--release", "-p", krate, "--test", test])
            .args(["--", "--test-threads", "1"])
            .env("RUSTFLAGS", "--cfg stream_loom --cfg stream_mutants")
            .env("CARGO_TARGET_DIR", &loom_target);
        if krate == "stream-core" {
            // The core's models at their default bound take a minute; two preemptions keep
            // each mutant run short and still explore thousands of interleavings.
            cmd.env("LOOM_MAX_PREEMPTIONS", "2");
        }
        cmd
    };
    let miri_cmd = |suite: &[&str], seed: u32| {
        let mut cmd = nightly_cargo();
        cmd.args(["miri", "test", "--locked"])
            .args(suite)
            .env("RUSTFLAGS", "--cfg stream_mutants")
            .env(
                "MIRIFLAGS",
                format!("{MUTANT_MIRIFLAGS} -Zmiri-seed={seed}"),
            )
            .env("CARGO_TARGET_DIR", &miri_target);
        cmd
    };
    let unit_target = root().join("target").join("mutants-unit");
    let unit_cmd = || {
        let mut cmd = cargo();
        cmd.args(["test", "--locked", "-p", "stream-events", "--lib"])
            .env("RUSTFLAGS", "--cfg stream_mutants")
            .env("CARGO_TARGET_DIR", &unit_target);
        cmd
    };
    // Unmutated first: every suite must pass, or a "catch" would mean nothing.
    println!("==> baseline (no mutant)");
    if opts.loom {
        for (krate, test) in MUTANT_LOOM {
            run(&mut loom_cmd(krate, test))?;
        }
        run(&mut unit_cmd())?;
    }
    let miri = opts.miri && {
        match nightly_with(&["miri", "rust-src"]) {
            Ok(()) => true,
            Err(why) => {
                println!("SKIPPED: mutants under Miri ({why})");
                false
            }
        }
    };
    if !miri && !opts.loom {
        return Err("Miri is not available and --miri-only leaves nothing else".into());
    }
    if miri {
        // Every seed a mutant may run, without a time limit: a baseline failure (or a
        // baseline that needs longer than a mutant is given) must be seen.
        for seed in 1..=opts.seeds {
            for suite in all_mutant_miri_suites() {
                let t = Instant::now();
                run(&mut miri_cmd(suite, seed))?;
                println!(
                    "  baseline {} seed {seed}: passed ({:.0} s)",
                    suite_label(suite),
                    t.elapsed().as_secs_f64()
                );
            }
        }
    }
    let mut rows = Vec::new();
    let mut survivors = Vec::new();
    for (id, what) in list {
        println!("==> mutant {id}");
        let t = Instant::now();
        let (loom_cell, unit_cell) = if opts.loom {
            let mut loom_caught = Vec::new();
            for (krate, test) in MUTANT_LOOM {
                loom_caught.extend(failing_tests(
                    loom_cmd(krate, test).env("STREAM_MUTANT", id),
                    krate,
                ));
            }
            // The backends' unit tests (threads, not loom) cover the listener backend, which
            // loom cannot see.
            let unit_caught = failing_tests(unit_cmd().env("STREAM_MUTANT", id), "stream-events");
            (show_caught(&loom_caught), show_caught(&unit_caught))
        } else {
            previous
                .get(*id)
                .cloned()
                .unwrap_or_else(|| ("not run".into(), "not run".into()))
        };
        let miri_cell = if miri {
            miri_mutant(id, &opts, &miri_cmd, &miri_target)?
        } else {
            MiriVerdict::NotRun("not run".into())
        };
        println!(
            "  loom: {loom_cell}; unit: {unit_cell}; miri: {} ({:.0} s)",
            miri_cell.cell(),
            t.elapsed().as_secs_f64()
        );
        if !cell_catches(&loom_cell)
            && !cell_catches(&unit_cell)
            && !matches!(miri_cell, MiriVerdict::Caught(_))
        {
            survivors.push(*id);
        }
        rows.push(format!(
            "| `{id}` | {what} | {loom_cell} | {unit_cell} | {} |",
            miri_cell.cell()
        ));
    }
    let total = start.elapsed().as_secs_f64();
    let command = std::iter::once("cargo xtask mutants".to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::create_dir_all(doc.parent().unwrap()).map_err(|e| e.to_string())?;
    let table = format!(
        "# Mutants\n\n\
         Each mutant weakens one atomic ordering to `Relaxed` or removes one \"check again\" step \
         (`--cfg stream_mutants`, chosen by `STREAM_MUTANT`; the ids are named at their sites in \
         the source). A mutant is caught when a test fails with it. Produced by \
         `cargo xtask mutants`: loom at each model's default bound (2 preemptions for \
         stream-core); the unit column is `stream-events`' own tests on threads; Miri as \
         below.\n\n\
         | mutant | what it changes | caught by loom | caught by unit tests | caught by Miri |\n\
         |---|---|---|---|---|\n{}\n\n\
         ## How Miri is run per mutant\n\n\
         Miri runs only the tests of the code the mutant changes: the stream-events mutants \
         run `stream-events`' `suite` test, then `stream-core`'s `matrix` (the core on every \
         backend); the stream-core mutants run `stream-core`'s `matrix`, then its \
         `behaviour`; `deliver-release` (the future's delivery) runs `stream-future`'s \
         `future` test; `futex-compare` (the emulated futex, built only for loom and for \
         targets without futex(2)) runs `stream-events`' `suite` built for \
         `x86_64-apple-darwin`, which Miri interprets on Linux. MIRIFLAGS are \
         `{MUTANT_MIRIFLAGS} -Zmiri-seed=<seed>`, seeds 1..={seeds}: every suite with seed 1, \
         then every suite with seed 2, and so on; the first failure ends the mutant's runs. \
         One mutant's Miri runs together get at most {limit} s (`--miri-limit`); the run that \
         reaches the limit is killed, and the cell says how far it got.\n\n\
         * `-Zmiri-env-forward=STREAM_MUTANT` is essential: Miri's isolation hides the host's \
         environment from the program, so without it every mutant runs the unmutated code \
         (which is what an earlier version of this command did).\n\
         * Stacked Borrows is off (`-Zmiri-disable-stacked-borrows`): a mutant changes an \
         ordering, not an aliasing pattern, and `cargo xtask ci`'s Miri stage checks aliasing \
         on the unmutated code. What can see a weakened ordering stays on: Miri's data-race \
         detector (a non-atomic access, such as an element in the buffer, that the weakened \
         edge no longer orders) and its weak-memory emulation (a load may return an older \
         store, which shows as a wrong result or, for a lost wake-up, as a deadlock Miri \
         reports). An ordering that only orders other atomics is invisible to the race detector \
         (only the weak-memory emulation, if it happens to return an older value, can show \
         it), and one whose edge a backend's own synchronisation (a futex wake, a mutex) \
         provides again is invisible to both.\n\
         * The unmutated code passes every one of these suites with every one of these seeds \
         (the command checks this first, without a time limit), so a failure under a mutant \
         is the mutant's.\n\
         * A cell reads `<test>: <what Miri saw> (seed <n>, <t> s)` when caught (`<t>`: the \
         mutant's Miri time up to the catch), `— (seeds ..., <t> s)` when every run passed, \
         and `timed out ...` when the limit ended the runs first (not a catch).\n\n\
         Last run on {date} (UTC) with `{command}`: {total:.0} s ({minutes:.0} min) in all, the \
         unmutated baseline included.{kept}\n{notes}",
        rows.join("\n"),
        kept = if opts.loom {
            ""
        } else {
            " The loom and unit columns were not rerun (`--miri-only`): they are the previous \
             table's (see the notes)."
        },
        notes = notes.map(|n| format!("\n{n}")).unwrap_or_default(),
        seeds = opts.seeds,
        limit = opts.limit.as_secs(),
        date = today_utc(),
        minutes = total / 60.0,
    );
    if opts.chosen.is_empty() {
        std::fs::write(&doc, table).map_err(|e| e.to_string())?;
        println!("wrote {} ({total:.0} s)", doc.display());
    } else {
        println!("{table}");
    }
    if survivors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "surviving mutants (add a test): {}",
            survivors.join(" ")
        ))
    }
}

fn show_caught(v: &[String]) -> String {
    if v.is_empty() {
        "—".to_string()
    } else {
        v.join(", ")
    }
}

/// What Miri made of one mutant.
enum MiriVerdict {
    Caught(String),
    Survived(String),
    NotRun(String),
}

impl MiriVerdict {
    fn cell(&self) -> &str {
        match self {
            MiriVerdict::Caught(s) | MiriVerdict::Survived(s) | MiriVerdict::NotRun(s) => s,
        }
    }
}

/// Runs mutant `id`'s Miri suites, seed by seed, until one fails or the time limit is reached.
fn miri_mutant(
    id: &str,
    opts: &MutantOptions,
    miri_cmd: &dyn Fn(&[&str], u32) -> Command,
    log_dir: &Path,
) -> Result<MiriVerdict, String> {
    let suites = mutant_miri_suites(id);
    let t = Instant::now();
    let log = log_dir.join(format!("mutant-{id}.log"));
    // Seed by seed, every suite with seed 1 before any with seed 2.
    for seed in 1..=opts.seeds {
        for suite in suites {
            let left = opts.limit.saturating_sub(t.elapsed());
            let mut cmd = miri_cmd(suite, seed);
            cmd.env("STREAM_MUTANT", id);
            println!("  $ {}", describe(&cmd));
            match run_limited(&mut cmd, left, &log)? {
                Limited::Passed => {}
                Limited::Failed(text) => {
                    let caught = failing_tests_in(&text, &suite_label(suite));
                    return Ok(MiriVerdict::Caught(format!(
                        "{} (seed {seed}, {:.0} s)",
                        caught.join(", "),
                        t.elapsed().as_secs_f64()
                    )));
                }
                Limited::TimedOut => {
                    return Ok(MiriVerdict::Survived(format!(
                        "timed out at {} s, in {} seed {seed} (the runs before it passed)",
                        opts.limit.as_secs(),
                        suite_label(suite)
                    )));
                }
            }
        }
    }
    Ok(MiriVerdict::Survived(format!(
        "— (seeds 1..={} of every suite, {:.0} s)",
        opts.seeds,
        t.elapsed().as_secs_f64()
    )))
}

enum Limited {
    Passed,
    Failed(String),
    TimedOut,
}

/// Runs `cmd` with its output in `log`; kills it (its whole process group, so that the
/// interpreter under `cargo miri` goes too) if it runs longer than `limit`.
fn run_limited(
    cmd: &mut Command,
    limit: std::time::Duration,
    log: &Path,
) -> Result<Limited, String> {
    let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    cmd.stdout(file).stderr(err);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", describe(cmd)))?;
    let t = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if t.elapsed() >= limit {
            #[cfg(unix)]
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Limited::TimedOut);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if status.success() {
        Ok(Limited::Passed)
    } else {
        let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
        Ok(Limited::Failed(text))
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Howard Hinnant's days-to-civil.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Runs a test command and returns the names of the tests that failed (`crate::test`), or
/// `crate (crashed)` when it failed without naming one.
fn failing_tests(cmd: &mut Command, label: &str) -> Vec<String> {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => return vec![format!("{label} (could not run: {e})")],
    };
    if out.status.success() {
        return Vec::new();
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    failing_tests_in(&text, label)
}

/// The failed tests named in a failed test run's output (see [`failing_tests`]). A test that
/// Miri stopped (undefined behaviour, a deadlock) is named with what Miri reported.
fn failing_tests_in(text: &str, label: &str) -> Vec<String> {
    // "test x ... FAILED"; under Miri, "test x ... error: <what>" (Miri ends the whole
    // process); or, when a panic aborted the process (loom's deadlock report panics inside a
    // destructor), "thread 'x' (id) panicked at".
    let mut failed: Vec<String> = Vec::new();
    for line in text.lines() {
        let name = line
            .strip_prefix("test ")
            .and_then(|l| {
                let (name, result) = l.split_once(" ... ")?;
                if result == "FAILED" {
                    Some(name.to_string())
                } else {
                    let error = result.strip_prefix("error: ")?;
                    Some(format!("{name}: {}", miri_error(error)))
                }
            })
            .or_else(|| {
                let rest = line.strip_prefix("thread '")?;
                let (name, tail) = rest.split_once('\'')?;
                tail.contains("panicked at").then(|| name.to_string())
            });
        if let Some(name) = name {
            let name = format!("{label}::{name}");
            if !failed.contains(&name) && !name.ends_with("::main") {
                failed.push(name);
            }
        }
    }
    if failed.is_empty() {
        vec![format!("{label} (crashed)")]
    } else {
        failed
    }
}

/// A short name for Miri's error message.
fn miri_error(error: &str) -> String {
    let lower = error.to_lowercase();
    if lower.contains("data race") {
        "data race".into()
    } else if lower.contains("deadlock") {
        "deadlock".into()
    } else if let Some(ub) = error.strip_prefix("Undefined Behavior: ") {
        format!("UB ({})", ub.chars().take(60).collect::<String>())
    } else {
        error.chars().take(60).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// bench

const BENCH_HELP: &str = "\
usage: cargo xtask bench [--full] [--filter <regex>]

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
  -h, --help        this text

NATIVE_STREAM_BENCH_BYTES and NATIVE_STREAM_BENCH_ELEMS, when set, override both profiles.
Rows run on a busy machine measure the machine: the report records the load average before
and after. A missed target is reported, not an error; the exit status is non-zero only when
a bench fails to run.";

/// The bench targets of the `benches` crate, in the order they run.
const BENCH_TARGETS: &[&str] = &["events", "stream", "future", "async"];

/// What a row is to the report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A backend of ours.
    Native,
    /// A primitive users would otherwise pick: "ratio to best peer" is against the fastest.
    Peer,
    /// A lower bound (no second thread, no stream): "ratio to floor" is against the first.
    Floor,
    /// A row this table does not know yet.
    Other,
}

/// The rows the report knows, in table order: (group, row, role). A group is criterion's
/// group, or `group/function` where criterion has a function and a value (`future`).
const BENCH_ROWS: &[(&str, &[(&str, Role)])] = {
    use Role::{Floor, Native, Peer};
    const NATIVE: [(&str, Role); 3] = [("spin", Native), ("futex", Native), ("listener", Native)];
    const FUTURE: &[(&str, Role)] = &[
        NATIVE[0],
        NATIVE[1],
        NATIVE[2],
        ("oneshot", Peer),
        ("tokio_oneshot", Peer),
        ("futures_oneshot", Peer),
    ];
    &[
        (
            "events_round_trip",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("crossbeam_bounded1", Peer),
                ("raw_spin", Floor),
                ("raw_futex", Floor),
            ],
        ),
        (
            "stream_round_trip",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("crossbeam_bounded1", Peer),
                ("crossbeam_bounded0", Peer),
                ("std_sync_channel0", Peer),
                ("rtrb", Peer),
                ("raw_spin", Floor),
            ],
        ),
        (
            "stream_bulk_u8",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("futex_one_buffer", Native),
                ("crossbeam_recycled_copy", Peer),
                ("crossbeam_recycled", Peer),
                ("rtrb", Peer),
                ("memcpy", Floor),
            ],
        ),
        (
            "stream_bulk_u64",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("futex_one_buffer", Native),
                ("rtrb", Peer),
                ("crossbeam_bounded1024", Peer),
            ],
        ),
        ("future/create_send_recv", FUTURE),
        ("future/create_send_recv", &[("box", Floor)]),
        ("future/pipelined", FUTURE),
        (
            "future/pipelined",
            &[
                // First: the "ratio to floor" column compares with the first floor.
                ("box_112b", Floor),
                ("box_40b", Floor),
                ("queue_only", Floor),
            ],
        ),
        ("future/reader_waiting", FUTURE),
        ("future/reader_waiting", &[("raw_futex", Floor)]),
        ("async_round_trip", ASYNC_ROUND_TRIP),
        ("async_round_trip_tokio_rt", ASYNC_ROUND_TRIP),
        ("async_wake", &[("listener", Native), ("waker_slot", Peer)]),
        (
            "async_wake_parked",
            &[("listener", Native), ("waker_slot", Peer)],
        ),
        (
            "async_bulk_u8",
            &[
                ("async_io", Native),
                ("async_bufread", Native),
                ("blocking", Native),
            ],
        ),
    ]
};

/// The rows of both async round-trip groups (one per executor).
const ASYNC_ROUND_TRIP: &[(&str, Role)] = &[
    ("native", Role::Native),
    ("async_channel_bounded1", Role::Peer),
    ("tokio_mpsc1", Role::Peer),
];

/// A target's reference that means "the fastest peer row of the group in this run".
const BEST_PEER: &str = "best peer";

/// How a target compares a row with its reference row.
#[derive(Clone, Copy)]
enum Goal {
    /// Median at most this many times the reference's.
    TimeAtMost(f64),
    /// Median strictly below the reference's.
    TimeBelow,
    /// Throughput at least this many times the reference's.
    ThroughputAtLeast(f64),
}

impl Goal {
    /// The target as a sentence about `reference`.
    fn text(self, reference: &str) -> String {
        match self {
            Goal::TimeAtMost(1.0) => format!("time ≤ {reference}"),
            Goal::TimeAtMost(f) => format!("time ≤ {f}× {reference}"),
            Goal::TimeBelow => format!("time < {reference}"),
            Goal::ThroughputAtLeast(f) => format!("throughput ≥ {f}× {reference}"),
        }
    }

    /// Whether the goal compares throughputs (else times).
    fn is_throughput(self) -> bool {
        matches!(self, Goal::ThroughputAtLeast(_))
    }

    /// Whether `ratio` (row over reference, of times or of throughputs as the goal says)
    /// meets the goal.
    fn is_met(self, ratio: f64) -> bool {
        match self {
            Goal::TimeAtMost(f) => ratio <= f,
            Goal::TimeBelow => ratio < 1.0,
            Goal::ThroughputAtLeast(f) => ratio >= f,
        }
    }
}

/// The targets of the stream-events, stream-core and stream-future issues:
/// (group, rows, goal, reference row), all within one run.
const BENCH_TARGETS_MET: &[(&str, &[&str], Goal, &str)] = {
    const ALL: &[&str] = &["spin", "futex", "listener"];
    &[
        (
            "events_round_trip",
            &["spin"],
            Goal::TimeAtMost(2.0),
            "raw_spin",
        ),
        (
            "events_round_trip",
            &["futex", "listener"],
            Goal::TimeBelow,
            "crossbeam_bounded1",
        ),
        (
            "stream_round_trip",
            ALL,
            Goal::TimeBelow,
            "crossbeam_bounded1",
        ),
        (
            "stream_bulk_u8",
            ALL,
            Goal::ThroughputAtLeast(1.3),
            "crossbeam_recycled_copy",
        ),
        ("stream_bulk_u64", ALL, Goal::ThroughputAtLeast(3.0), "rtrb"),
        (
            "future/create_send_recv",
            ALL,
            Goal::TimeAtMost(1.0),
            "oneshot",
        ),
        ("future/pipelined", ALL, Goal::TimeAtMost(1.0), "oneshot"),
        (
            "future/reader_waiting",
            ALL,
            Goal::TimeAtMost(0.5),
            "oneshot",
        ),
        (
            "async_round_trip",
            &["native"],
            Goal::TimeAtMost(0.8),
            BEST_PEER,
        ),
        (
            "async_round_trip_tokio_rt",
            &["native"],
            Goal::TimeAtMost(0.8),
            BEST_PEER,
        ),
        (
            "async_bulk_u8",
            &["async_io", "async_bufread"],
            Goal::ThroughputAtLeast(0.5),
            "blocking",
        ),
    ]
};

/// Ceilings of throughput targets: (group, reference, ceiling row). The ceiling row is a peer
/// that does the native rows' work with one copy per byte (as a stream does), so its ratio to
/// the reference in the same round is as far as any one-copy transport got on this host in
/// that run. The interleaved report shows it beside each verdict of that target, met or missed.
///
/// `crossbeam_recycled` checks each block in place, where `crossbeam_recycled_copy` copies it
/// out first: when the host's cross-core traffic rather than the copies sets the pace, their
/// ratio falls under the 1.3 that `stream_bulk_u8` asks for, and the native rows with it.
const BENCH_CEILINGS: &[(&str, &str, &str)] = &[(
    "stream_bulk_u8",
    "crossbeam_recycled_copy",
    "crossbeam_recycled",
)];

/// One measured row, read back from criterion's files.
struct Measured {
    group: String,
    row: String,
    /// Median time per iteration, in nanoseconds.
    median_ns: f64,
    /// Bytes or elements per iteration, and the unit.
    throughput: Option<(f64, &'static str)>,
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut full = false;
    let mut filter = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--full" => full = true,
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
    if misses.is_empty() {
        println!("all targets met ({secs:.0} s)");
    } else {
        println!("MISSED {} target(s) ({secs:.0} s):", misses.len());
        for miss in &misses {
            println!("  MISSED: {miss}");
        }
    }
    Ok(())
}

/// What [`interleaved_report`] returns.
type InterleavedReport = (String, Vec<(String, String)>, Vec<String>);

/// The report section of the interleaved example's CSV (`group,row,median,unit,reference,
/// ratio`): every row's median ratio to each reference, with the targets that compare the
/// two; also the (group, row) pairs whose targets it checked, and the targets missed.
fn interleaved_report(csv: &str, rounds: usize) -> Result<InterleavedReport, String> {
    let mut md = format!(
        "\n## Interleaved ratios\n\n\
         `cargo run --release -p benches --example interleaved -- all {rounds}`: each round runs \
         every row of a group once, the ratio to the reference is taken within the round, and \
         the table gives the medians over {rounds} rounds (bulk rows move 64 MiB or 2 Mi `u64`s \
         a round). On a shared machine these ratios are the ones to decide by: a target \
         checked here is met or missed by this table, whatever the table above says.\n\n\
         | group | row | median | ratio | reference | target | met? |\n\
         |---|---|---:|---:|---|---|---|\n"
    );
    let mut misses = Vec::new();
    let mut covered = Vec::new();
    let mut lines = Vec::new();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [group, row, median, unit, reference, ratio] = fields[..] else {
            return Err(format!(
                "interleaved CSV line {line:?}: six fields expected"
            ));
        };
        let number = |x: &str| {
            x.parse::<f64>()
                .map_err(|e| format!("interleaved CSV line {line:?}: {e}"))
        };
        lines.push((group, row, number(median)?, unit, reference, number(ratio)?));
    }
    // The ceiling row's ratio to `reference` in `group`, if the group has one.
    let ceiling = |group: &str, reference: &str| {
        let (_, _, ceiling_row) = BENCH_CEILINGS
            .iter()
            .find(|(g, r, _)| *g == group && *r == reference)?;
        lines
            .iter()
            .find(|(g, row, _, _, r, _)| *g == group && row == ceiling_row && *r == reference)
            .map(|&(_, row, _, _, _, ratio)| (row, ratio))
    };
    for &(group, row, median, unit, reference, ratio) in &lines {
        if row == reference {
            continue;
        }
        let mut targets = Vec::new();
        let mut mets = Vec::new();
        for (_, _, goal, _) in BENCH_TARGETS_MET
            .iter()
            .filter(|(g, rows, _, r)| *g == group && rows.contains(&row) && *r == reference)
        {
            let text = goal.text(reference);
            let ok = goal.is_met(ratio);
            let bound = ceiling(group, reference).map_or(String::new(), |(ceiling_row, c)| {
                format!("; one-copy ceiling {ceiling_row} {c:.2}×")
            });
            if !ok {
                misses.push(format!(
                    "{group}/{row} (interleaved): {text}, measured {ratio:.2}×{bound}"
                ));
            }
            mets.push(format!(
                "{} ({ratio:.2}×{bound})",
                if ok { "yes" } else { "NO" }
            ));
            targets.push(text);
        }
        if !targets.is_empty() {
            covered.push((group.to_string(), row.to_string()));
        }
        let or_dash = |v: Vec<String>| {
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join("; ")
            }
        };
        md.push_str(&format!(
            "| {group} | {row} | {median:.2} {unit} | {ratio:.3} | {reference} | {} | {} |\n",
            or_dash(targets),
            or_dash(mets),
        ));
    }
    Ok((md, covered, misses))
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

/// Every `new/benchmark.json` under `dir` written since `since`, with its median.
fn read_criterion(dir: &Path, since: std::time::SystemTime) -> Result<Vec<Measured>, String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.ends_with("new/benchmark.json") {
                let fresh = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= since);
                if fresh {
                    found.push(path);
                }
            }
        }
    }
    let mut measured = Vec::new();
    for path in found {
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let bench = read(&path)?;
        let estimates = read(&path.with_file_name("estimates.json"))?;
        let bad = || format!("{}: unexpected contents", path.display());
        let group = json_string(&bench, "group_id").ok_or_else(bad)?;
        let function = json_string(&bench, "function_id");
        let value = json_string(&bench, "value_str");
        let (group, row) = match (function, value) {
            (Some(f), Some(v)) => (format!("{group}/{f}"), v),
            (Some(f), None) => (group, f),
            (None, Some(v)) => (group, v),
            (None, None) => return Err(bad()),
        };
        let median_start = estimates.find("\"median\"").ok_or_else(bad)?;
        let median_ns =
            json_number(&estimates[median_start..], "point_estimate").ok_or_else(bad)?;
        let throughput = [("Bytes", "B"), ("BytesDecimal", "B"), ("Elements", "elem")]
            .iter()
            .find_map(|(key, unit)| Some((json_number(&bench, key)?, *unit)));
        measured.push(Measured {
            group,
            row,
            median_ns,
            throughput,
        });
    }
    Ok(measured)
}

/// The string value of the first `"key":` in `json`; `None` if absent or not a string
/// (criterion writes `null` for a missing function or value). No escapes expected.
fn json_string(json: &str, key: &str) -> Option<String> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = json[at..].trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// The number value of the first `"key":` in `json`.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = json[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Formats nanoseconds with a unit that keeps three or four digits.
fn format_time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        ns => format!("{:.2} s", ns / 1e9),
    }
}

/// Formats an amount per second: bytes in GiB/s, elements in Melem/s.
fn format_rate(per_s: f64, unit: &str) -> String {
    if unit == "B" {
        format!("{:.2} GiB/s", per_s / f64::from(1u32 << 30))
    } else {
        format!("{:.1} Melem/s", per_s / 1e6)
    }
}

/// The report: Markdown, CSV, and one line per missed target. With `all`, rows with a target
/// that did not run are listed as such and their targets as `n/a`.
fn bench_report(measured: &[Measured], all: bool, header: &str) -> (String, String, Vec<String>) {
    // Table order: the known rows, then anything new, sorted.
    let mut order: Vec<(String, String, Role)> = Vec::new();
    for (group, rows) in BENCH_ROWS {
        for (row, role) in *rows {
            order.push((group.to_string(), row.to_string(), *role));
        }
    }
    let mut others: Vec<(String, String, Role)> = measured
        .iter()
        .filter(|m| !order.iter().any(|(g, r, _)| *g == m.group && *r == m.row))
        .map(|m| (m.group.clone(), m.row.clone(), Role::Other))
        .collect();
    others.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    // New rows go at the end of their group if it is known, else at the end.
    for other in others {
        let at = order
            .iter()
            .rposition(|(g, _, _)| *g == other.0)
            .map_or(order.len(), |i| i + 1);
        order.insert(at, other);
    }
    let find = |group: &str, row: &str| measured.iter().find(|m| m.group == group && m.row == row);
    let role_of = |group: &str, row: &str| {
        order
            .iter()
            .find(|(g, r, _)| g == group && r == row)
            .map_or(Role::Other, |(_, _, role)| *role)
    };
    let best_peer = |group: &str| {
        measured
            .iter()
            .filter(|m| m.group == group && role_of(group, &m.row) == Role::Peer)
            .min_by(|a, b| a.median_ns.total_cmp(&b.median_ns))
    };
    let floor = |group: &str| {
        order
            .iter()
            .filter(|(g, _, role)| g == group && *role == Role::Floor)
            .find_map(|(g, r, _)| find(g, r))
    };
    let mut md = format!(
        "# Benchmarks\n\n{header}\n\n\
         | group | row | median | throughput | ratio to best peer | ratio to floor | target | met? |\n\
         |---|---|---:|---:|---:|---:|---|---|\n"
    );
    let mut csv = String::from(
        "group,row,role,median_ns,throughput_per_s,throughput_unit,best_peer,ratio_to_best_peer,\
         floor,ratio_to_floor,target,met,target_ratio\n",
    );
    let mut misses = Vec::new();
    for (group, row, role) in &order {
        let m = find(group, row);
        let targets: Vec<(Goal, &str)> = BENCH_TARGETS_MET
            .iter()
            .filter(|(g, rows, _, _)| g == group && rows.contains(&row.as_str()))
            .map(|(_, _, goal, reference)| (*goal, *reference))
            .collect();
        if m.is_none() && (!all || targets.is_empty()) {
            continue;
        }
        let role_name = match role {
            Role::Native => "native",
            Role::Peer => "peer",
            Role::Floor => "floor",
            Role::Other => "other",
        };
        let median = m.map_or("not run".into(), |m| format_time(m.median_ns));
        let rate = m.and_then(|m| {
            let (amount, unit) = m.throughput?;
            Some((amount / (m.median_ns * 1e-9), unit))
        });
        let ratio_to = |other: Option<&Measured>| match (m, other) {
            (Some(m), Some(o)) if *role != Role::Peer || o.row != *row => {
                Some((o.row.clone(), m.median_ns / o.median_ns))
            }
            _ => None,
        };
        let peer = ratio_to(best_peer(group));
        let floor = if *role == Role::Floor {
            None
        } else {
            ratio_to(floor(group))
        };
        let show_ratio = |r: &Option<(String, f64)>| {
            r.as_ref()
                .map_or("—".into(), |(name, x)| format!("{x:.2} ({name})"))
        };
        let mut target_texts = Vec::new();
        let mut met_texts = Vec::new();
        let mut csv_targets = Vec::new();
        for (goal, reference) in &targets {
            let text = goal.text(reference);
            let reference_row = if *reference == BEST_PEER {
                best_peer(group)
            } else {
                find(group, reference)
            };
            let (met, shown) = match (m, reference_row) {
                (Some(m), Some(r)) => {
                    let time = m.median_ns / r.median_ns;
                    let value = if goal.is_throughput() {
                        1.0 / time
                    } else {
                        time
                    };
                    let ok = goal.is_met(value);
                    if !ok {
                        misses.push(format!("{group}/{row}: {text}, measured {value:.2}×"));
                    }
                    (if ok { "yes" } else { "NO" }, Some(value))
                }
                _ => ("n/a", None),
            };
            met_texts.push(match shown {
                Some(v) => format!("{met} ({v:.2}×)"),
                None => met.to_string(),
            });
            csv_targets.push((text.clone(), met, shown));
            target_texts.push(text);
        }
        md.push_str(&format!(
            "| {group} | {row} | {median} | {} | {} | {} | {} | {} |\n",
            rate.map_or("—".into(), |(r, u)| format_rate(r, u)),
            show_ratio(&peer),
            show_ratio(&floor),
            if target_texts.is_empty() {
                "—".into()
            } else {
                target_texts.join("; ")
            },
            if met_texts.is_empty() {
                "—".into()
            } else {
                met_texts.join("; ")
            },
        ));
        if csv_targets.is_empty() {
            csv_targets.push((String::new(), "", None));
        }
        // One CSV line per target (or one without), so every field stays a single value.
        for (target, met, value) in csv_targets {
            let num = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x}"));
            csv.push_str(&format!(
                "{group},{row},{role_name},{},{},{},{},{},{},{},\"{target}\",{met},{}\n",
                num(m.map(|m| m.median_ns)),
                num(rate.map(|(r, _)| r)),
                rate.map_or("", |(_, u)| u),
                peer.as_ref().map_or("", |(n, _)| n),
                num(peer.as_ref().map(|(_, x)| *x)),
                floor.as_ref().map_or("", |(n, _)| n),
                num(floor.as_ref().map(|(_, x)| *x)),
                num(value),
            ));
        }
    }
    (md, csv, misses)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interleaved example's CSV for `stream_bulk_u8`, with the native rows at `native`
    /// times `crossbeam_recycled_copy` and the in-place row at `ceiling` times it.
    fn bulk_csv(native: f64, ceiling: f64) -> String {
        let mut csv = String::from("group,row,median,unit,reference,ratio\n");
        for row in ["spin", "futex", "listener"] {
            csv.push_str(&format!(
                "stream_bulk_u8,{row},10,GiB/s,crossbeam_recycled_copy,{native}\n"
            ));
        }
        csv.push_str(&format!(
            "stream_bulk_u8,crossbeam_recycled,10,GiB/s,crossbeam_recycled_copy,{ceiling}\n\
             stream_bulk_u8,crossbeam_recycled_copy,8,GiB/s,crossbeam_recycled_copy,1\n"
        ));
        csv
    }

    #[test]
    fn interleaved_miss_names_the_one_copy_ceiling() {
        let (md, covered, misses) = interleaved_report(&bulk_csv(1.21, 1.25), 15).unwrap();
        assert_eq!(misses.len(), 3, "{misses:?}");
        assert!(
            misses[0].contains("measured 1.21×; one-copy ceiling crossbeam_recycled 1.25×"),
            "{misses:?}"
        );
        assert!(md.contains("| NO (1.21×; one-copy ceiling crossbeam_recycled 1.25×) |"));
        assert_eq!(covered.len(), 3);
        assert!(covered.contains(&("stream_bulk_u8".into(), "futex".into())));
    }

    #[test]
    fn interleaved_met_target_is_not_a_miss() {
        let (md, _, misses) = interleaved_report(&bulk_csv(1.42, 1.5), 15).unwrap();
        assert!(misses.is_empty(), "{misses:?}");
        assert!(md.contains("| yes (1.42×; one-copy ceiling crossbeam_recycled 1.50×) |"));
        // The ceiling row is a peer: no target, so no ceiling beside itself.
        assert!(md.contains("| stream_bulk_u8 | crossbeam_recycled | 10.00 GiB/s | 1.500 |"));
    }

    #[test]
    fn interleaved_rejects_a_short_line() {
        let err = interleaved_report("header\nstream_bulk_u8,spin,10\n", 15).unwrap_err();
        assert!(err.contains("six fields expected"), "{err}");
    }
}
