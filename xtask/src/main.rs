//! Project automation: `cargo xtask <command>`.
//!
//! * `ci`: everything `.ci/run` checks, stage by stage, with each stage's duration: format,
//!   clippy, docs, the README's test command, the loom models, Miri (stacked and tree
//!   borrows, several seeds) and ThreadSanitizer. A stage whose tool cannot be had prints a
//!   loud `SKIPPED: <stage> (<reason>)` line and the run goes on; a stage is never reported
//!   as passed when it did not run.
//!
//! * `mutants`: builds the loom models and the Miri suites with `--cfg stream_mutants`, then
//!   runs them once per mutant (one Acquire/Release weakened to Relaxed, or one "check
//!   again" step removed, chosen at run time by `STREAM_MUTANT`), and writes which test
//!   caught each mutant to `docs/mutants.md`. A mutant that no test catches fails the run.
//!
//! Options of `ci`: `--quick` runs only format, clippy, docs and tests; `--only <stage>` runs
//! one stage (`fmt`, `clippy`, `doc`, `test`, `loom`, `miri`, `tsan`).

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
];

/// Miri seeds run with Stacked Borrows; Tree Borrows runs the first of them.
const MIRI_SEEDS: &[u32] = &[1, 2, 3];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("mutants") => mutants(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask ci [--quick | --only <stage>]");
            eprintln!("       cargo xtask mutants [--no-miri] [<mutant>...]");
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
    let stages: [Stage; 7] = [
        ("fmt", stage_fmt),
        ("clippy", stage_clippy),
        ("doc", stage_doc),
        ("test", stage_test),
        ("loom", stage_loom),
        ("miri", stage_miri),
        ("tsan", stage_tsan),
    ];
    let selected: Vec<&Stage> = match args.first().map(String::as_str) {
        None => stages.iter().collect(),
        Some("--quick") => stages.iter().take(4).collect(),
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
        "stream-core: IDLE -> LENT publishing the buffer, Release -> Relaxed",
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
        "close-read-release",
        "stream-core: setting READER_CLOSED, Release -> Relaxed",
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
        "stream-core: future delivery LENT -> DONE, Release -> Relaxed",
    ),
    (
        "commit-release",
        "stream-core: WRITING -> DONE commit, Release -> Relaxed",
    ),
    (
        "return-release",
        "stream-core: WRITING -> LENT returned loan, Release -> Relaxed",
    ),
    (
        "close-write-release",
        "stream-core: setting WRITER_CLOSED, Release -> Relaxed",
    ),
    (
        "release-count-release",
        "stream-core: handle release that leaves others, Release -> Relaxed",
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
        "futex-park-acqrel",
        "stream-events: futex park fetch_or, AcqRel -> Relaxed",
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

fn mutants(args: &[String]) -> Result<(), String> {
    let miri = !args.iter().any(|a| a == "--no-miri");
    let chosen: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let list: Vec<&(&str, &str)> = MUTANTS
        .iter()
        .filter(|(id, _)| chosen.is_empty() || chosen.iter().any(|c| c == id))
        .collect();
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
    let miri_cmd = |targets: &[&str]| {
        let mut cmd = nightly_cargo();
        cmd.args(["miri", "test", "--locked"])
            .args(targets)
            .env("RUSTFLAGS", "--cfg stream_mutants")
            .env("MIRIFLAGS", "-Zmiri-strict-provenance -Zmiri-seed=1")
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
    let miri_suites: &[&[&str]] = &[
        &[
            "-p",
            "stream-core",
            "--test",
            "matrix",
            "--test",
            "behaviour",
        ],
        &["-p", "stream-future", "--test", "future"],
    ];
    // Unmutated first: every suite must pass, or a "catch" would mean nothing.
    println!("==> baseline (no mutant)");
    for (krate, test) in MUTANT_LOOM {
        run(&mut loom_cmd(krate, test))?;
    }
    run(&mut unit_cmd())?;
    let miri = miri && {
        match nightly_with(&["miri", "rust-src"]) {
            Ok(()) => true,
            Err(why) => {
                println!("SKIPPED: mutants under Miri ({why})");
                false
            }
        }
    };
    if miri {
        for suite in miri_suites {
            run(&mut miri_cmd(suite))?;
        }
    }
    let mut rows = Vec::new();
    let mut survivors = Vec::new();
    for (id, what) in list {
        println!("==> mutant {id}");
        let t = Instant::now();
        let mut loom_caught = Vec::new();
        for (krate, test) in MUTANT_LOOM {
            loom_caught.extend(failing_tests(
                loom_cmd(krate, test).env("STREAM_MUTANT", id),
                krate,
            ));
        }
        // The backends' unit tests (threads, not loom) cover the listener backend, which loom
        // cannot see.
        let unit_caught = failing_tests(unit_cmd().env("STREAM_MUTANT", id), "stream-events");
        let mut miri_caught = Vec::new();
        if miri {
            for suite in miri_suites {
                miri_caught.extend(failing_tests(
                    miri_cmd(suite).env("STREAM_MUTANT", id),
                    suite[1],
                ));
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let show = |v: &Vec<String>| {
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join(", ")
            }
        };
        println!(
            "  loom: {}; unit: {}; miri: {} ({secs:.0} s)",
            show(&loom_caught),
            show(&unit_caught),
            show(&miri_caught)
        );
        if loom_caught.is_empty() && unit_caught.is_empty() && miri_caught.is_empty() {
            survivors.push(*id);
        }
        rows.push(format!(
            "| `{id}` | {what} | {} | {} | {} |",
            show(&loom_caught),
            show(&unit_caught),
            if miri {
                show(&miri_caught)
            } else {
                "not run".into()
            }
        ));
    }
    let doc = root().join("docs").join("mutants.md");
    std::fs::create_dir_all(doc.parent().unwrap()).map_err(|e| e.to_string())?;
    let table = format!(
        "# Mutants\n\n\
         Each mutant weakens one atomic ordering to `Relaxed` or removes one \"check again\" step \
         (`--cfg stream_mutants`, chosen by `STREAM_MUTANT`; the ids are named at their sites in \
         the source). A mutant is caught when a test fails with it. Produced by \
         `cargo xtask mutants` (loom at each model's default bound, 2 for stream-core; Miri with \
         `-Zmiri-strict-provenance -Zmiri-seed=1` over the stream-core matrix and behaviour \
         tests and the stream-future tests; the unit column is `stream-events`' own tests on \
         threads).\n\n\
         | mutant | what it changes | caught by loom | caught by unit tests | caught by Miri |\n\
         |---|---|---|---|---|\n{}\n",
        rows.join("\n")
    );
    if chosen.is_empty() {
        std::fs::write(&doc, table).map_err(|e| e.to_string())?;
        println!("wrote {}", doc.display());
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
    // "test x ... FAILED", or, when a panic aborted the process (loom's deadlock report
    // panics inside a destructor), "thread 'x' (id) panicked at".
    let mut failed: Vec<String> = Vec::new();
    for line in text.lines() {
        let name = line
            .strip_prefix("test ")
            .and_then(|l| l.strip_suffix(" ... FAILED"))
            .or_else(|| {
                let rest = line.strip_prefix("thread '")?;
                let (name, tail) = rest.split_once('\'')?;
                tail.contains("panicked at").then_some(name)
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
