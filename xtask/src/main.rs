//! Project automation: `cargo xtask <command>`.
//!
//! * `ci`: everything `.ci/run` checks, stage by stage, with each stage's duration: format,
//!   clippy, docs, the README's test command, the loom models, Miri (stacked and tree
//!   borrows, several seeds) and ThreadSanitizer. A stage whose tool cannot be had prints a
//!   loud `SKIPPED: <stage> (<reason>)` line and the run goes on; a stage is never reported
//!   as passed when it did not run.
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
        _ => {
            eprintln!("usage: cargo xtask ci [--quick | --only <stage>]");
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
