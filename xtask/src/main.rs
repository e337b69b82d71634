//! Project automation: `cargo xtask <command>`.
//!
//! * `ci`: everything `.ci/run` checks, stage by stage, with each stage's duration: format,
//!   clippy, docs, the README's test command, building the benchmarks, every feature set,
//!   the loom models, Miri (stacked and tree borrows, several seeds), ThreadSanitizer,
//!   AddressSanitizer with LeakSanitizer (Rust suites and the C program) and the cargo-fuzz
//!   targets of `fuzz/` (a minute each). A stage whose tool cannot be had prints a loud
//!   `SKIPPED: <stage> (<reason>)` line and the run goes on; a stage is never reported as
//!   passed when it did not run.
//!
//! * `mutants`: builds the loom models and the Miri suites with `--cfg stream_mutants`, then
//!   runs them once per mutant (one Acquire/Release weakened to Relaxed, or one "check
//!   again" step removed, chosen at run time by `STREAM_MUTANT`), and writes which test
//!   caught each mutant to `docs/mutants.md`. A mutant that no test catches fails the run.
//!   Under Miri each mutant runs only the suites of the code it changes, for a few seeds and
//!   within a time limit (`--miri-seeds`, `--miri-limit`); `--no-miri` skips Miri,
//!   `--miri-only` skips loom and the unit tests and keeps their columns from the table.
//!
//! * `bench`: opens with the machine (CPU, cpuidle and halt-poll settings, kernel, load, the
//!   futex and cache-line ping-pong floors), runs the criterion benches of `benches` (every
//!   backend beside its peers and floors, quick profile by default), prints one table of
//!   medians, slowest samples, throughputs, ratios to the best peer and the floor and the
//!   issue targets met or missed, then the interleaved ratios under each machine profile
//!   asked for (`--profile`) and the native rows against an older revision (`--baseline`),
//!   and writes it to `target/bench-report.md` and `target/bench-report.csv` (criterion's HTML
//!   report stays in `target/criterion/report/`). A missed target, a spread or a regression is
//!   reported, not an error.
//!
//! Options of `ci`: `--quick` runs only format, clippy, docs, tests and the benchmark build;
//! `--only <stage>` runs one stage (`fmt`, `clippy`, `doc`, `test`, `benches`, `features`, `loom`,
//! `miri`, `tsan`, `asan`, `fuzz`). Options of `bench`: see
//! `cargo xtask bench --help` ([`BENCH_HELP`](bench::BENCH_HELP)).
//!
//! This file holds the dispatch and the usage line, and what the commands share: the
//! workspace root, `cargo` and `cargo +nightly` commands, running and describing a command,
//! and making sure nightly has some components (which may install them with rustup). Each
//! command is a module (`ci`, `mutants`, `bench`) whose first lines say what it may touch.

mod bench;
mod ci;
mod mutants;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use bench::bench;
use ci::ci;
use mutants::{mutants, MUTANTS_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("mutants") => mutants(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask ci [--quick | --only <stage>]");
            eprintln!("       {MUTANTS_USAGE}");
            eprintln!(
                "       cargo xtask bench [--full] [--filter <regex>] [--profile <list>] \
                 [--baseline <rev>] (--help: details)"
            );
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
