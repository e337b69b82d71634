//! `cargo xtask ci`: the stages of `.ci/run` (format, clippy, docs, tests, the benchmark
//! build, feature sets, loom, Miri, ThreadSanitizer, AddressSanitizer, fuzzing), the targets
//! each runs, and the summary of a run.
//!
//! May touch: runs cargo (stable, and nightly through rustup, which may install nightly and
//! its components) in the workspace, and may install cargo-fuzz with `cargo install`; its
//! builds go to `target/`, `target/loom`, `target/miri`, `target/tsan`, `target/asan`,
//! `target/fuzz` and `target/features`. The fuzz stage adds the inputs it finds to
//! `target/fuzz-corpus/<target>` (the committed corpus in `fuzz/corpus` is only read) and
//! cargo-fuzz writes a crashing input to `fuzz/artifacts/<target>` (ignored by git).

use std::time::Instant;

use crate::{cargo, nightly_cargo, nightly_with, root, run};

/// The README's test command (keep the two in step).
const TEST_COMMAND: &[&str] = &["test", "--workspace", "--all-features", "--locked"];

/// stream-future's suites that Miri and AddressSanitizer run.
const STREAM_FUTURE_SUITES: &[&str] = &[
    "-p",
    "stream-future",
    "--lib",
    "--test",
    "future",
    "--test",
    "release",
    "--test",
    "mixed",
];

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
        "--test",
        "mixed",
        "--test",
        "conventions",
        "--test",
        "batch",
        "--test",
        "orphan",
    ],
    STREAM_FUTURE_SUITES,
    &[
        "-p",
        "stream-async",
        "--lib",
        "--test",
        "drops",
        "--test",
        "executor",
        "--test",
        "conventions",
        "--test",
        "sink",
        "--test",
        "one_thread",
    ],
    // The C API through Rust calls of its exports: the open lend, one rule per situation.
    &["-p", "stream-ffi", "--test", "open", "--test", "rules"],
    // The symmetric runtime's exports called as generated Rust code calls them, and mixed
    // with stream-core's handles (the C++ tests compile C++, which Miri cannot run).
    &[
        "-p",
        "symmetric-stream",
        "--lib",
        "--test",
        "abi",
        "--test",
        "mixed",
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
        "--test",
        "mixed",
        "--test",
        "conventions",
        "--test",
        "batch",
        "--test",
        "orphan",
    ],
    &["-p", "stream-future", "--test", "future", "--test", "mixed"],
    &[
        "-p",
        "stream-async",
        "--test",
        "executor",
        "--test",
        "sink",
        "--test",
        "one_thread",
    ],
];

/// The suites run under AddressSanitizer (with LeakSanitizer): the Rust tests that allocate
/// and free streams, futures and their buffers on every path (drops, releases, cancels, the
/// C exports called in process). The tsan stage covers the threaded races; these look for
/// out-of-bounds accesses, uses after free and leaks, so the stress test runs small.
const ASAN_TARGETS: &[&[&str]] = &[
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
        "--test",
        "mixed",
        "--test",
        "conventions",
        "--test",
        "batch",
    ],
    STREAM_FUTURE_SUITES,
    &[
        "-p",
        "stream-async",
        "--lib",
        "--test",
        "drops",
        "--test",
        "executor",
        "--test",
        "sink",
    ],
    &[
        "-p",
        "stream-ffi",
        "--lib",
        "--test",
        "rules",
        "--test",
        "exports",
        "--test",
        "future_exports",
        "--test",
        "future_alloc",
    ],
    // The symmetric runtime's Rust suites (its C++ test links the cdylib, which is not built
    // with the sanitizer).
    &[
        "-p",
        "symmetric-stream",
        "--lib",
        "--test",
        "abi",
        "--test",
        "mixed",
    ],
];

/// The cargo-fuzz targets of `fuzz/` and how long the fuzz stage runs each.
const FUZZ_TARGETS: &[&str] = &["c_api", "safe_api", "cm_abi"];
const FUZZ_SECONDS: u32 = 60;

/// Miri seeds run with Stacked Borrows; Tree Borrows runs the first of them.
const MIRI_SEEDS: &[u32] = &[1, 2, 3];

/// The outcome of one stage.
enum Outcome {
    Passed,
    Skipped(String),
}

pub(crate) fn ci(args: &[String]) -> Result<(), String> {
    type Stage = (&'static str, fn() -> Result<Outcome, String>);
    let stages: [Stage; 11] = [
        ("fmt", stage_fmt),
        ("clippy", stage_clippy),
        ("doc", stage_doc),
        ("test", stage_test),
        ("benches", stage_benches),
        ("features", stage_features),
        ("loom", stage_loom),
        ("miri", stage_miri),
        ("tsan", stage_tsan),
        ("asan", stage_asan),
        ("fuzz", stage_fuzz),
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

/// Each library crate's own features (the default ones off), every subset of them checked.
const FEATURE_SETS: &[(&str, &[&str])] = &[
    ("stream-abi", &[]),
    ("stream-events", &["spin", "futex", "listener"]),
    ("stream-core", &["spin", "futex", "listener"]),
    ("stream-future", &["spin", "futex", "listener"]),
    ("stream-async", &["tokio"]),
    ("stream-ffi", &[]),
    ("symmetric-stream", &[]),
    (
        "native-stream",
        &["spin", "futex", "listener", "aio", "tokio"],
    ),
];

/// Features are additive: every subset of each library crate's features builds (with
/// `--no-default-features`), and in `tests/feature-union` two crates that choose different
/// features of stream-core each build alone and together (Cargo's union of features), where
/// the program using both runs.
fn stage_features() -> Result<Outcome, String> {
    let target = root().join("target").join("features");
    let mut checked = 0;
    for (krate, features) in FEATURE_SETS {
        for mask in 0..1u32 << features.len() {
            let chosen: Vec<&str> = features
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, f)| *f)
                .collect();
            run(cargo()
                .args(["check", "--locked", "--quiet", "--lib", "-p", krate])
                .args(["--no-default-features", "--features", &chosen.join(",")])
                .env("CARGO_TARGET_DIR", &target))?;
            checked += 1;
        }
    }
    println!("  {checked} feature sets checked");
    let manifest = root()
        .join("tests")
        .join("feature-union")
        .join("Cargo.toml");
    let union = |args: &[&str]| {
        let mut cmd = cargo();
        cmd.args(args)
            .arg("--locked")
            .arg("--manifest-path")
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target);
        cmd
    };
    run(&mut union(&["check", "-p", "listener-only"]))?;
    run(&mut union(&["check", "-p", "spin-futex"]))?;
    run(&mut union(&["run", "-p", "app"]))?;
    Ok(Outcome::Passed)
}

fn stage_fmt() -> Result<Outcome, String> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    // The fuzz targets are a workspace of their own.
    run(cargo().args(["fmt", "--check", "--manifest-path", "fuzz/Cargo.toml"]))?;
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
        ("stream-core", "loom_open"),
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

/// A sanitizer run of test suites with nightly's `-Zsanitizer=<name>`, for the host target
/// (so that build scripts and proc macros stay uninstrumented).
struct SanitizerRun {
    /// `thread` or `address`.
    sanitizer: &'static str,
    /// Its build directory under `target/`.
    dir: &'static str,
    /// Rebuild std with the sanitizer (ThreadSanitizer needs it to see std's atomics).
    build_std: bool,
    targets: &'static [&'static [&'static str]],
    env: &'static [(&'static str, &'static str)],
}

impl SanitizerRun {
    fn run(&self) -> Result<Outcome, String> {
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            return Ok(Outcome::Skipped(format!(
                "-Zsanitizer={} is run on x86_64 Linux only",
                self.sanitizer
            )));
        }
        let components: &[&str] = if self.build_std { &["rust-src"] } else { &[] };
        if let Err(why) = nightly_with(components) {
            return Ok(Outcome::Skipped(why));
        }
        let target = root().join("target").join(self.dir);
        for targets in self.targets {
            let mut cmd = nightly_cargo();
            cmd.args(["test", "--locked"]);
            if self.build_std {
                cmd.arg("-Zbuild-std");
            }
            cmd.args(["--target", "x86_64-unknown-linux-gnu"])
                .args(*targets)
                .env("RUSTFLAGS", format!("-Zsanitizer={}", self.sanitizer))
                .env("CARGO_TARGET_DIR", &target)
                .envs(self.env.iter().copied());
            run(&mut cmd)?;
        }
        Ok(Outcome::Passed)
    }
}

fn stage_tsan() -> Result<Outcome, String> {
    SanitizerRun {
        sanitizer: "thread",
        dir: "tsan",
        build_std: true,
        targets: TSAN_TARGETS,
        env: &[
            ("TSAN_OPTIONS", "halt_on_error=1"),
            ("STREAM_STRESS_ELEMENTS", "1000000"),
        ],
    }
    .run()
}

/// AddressSanitizer and LeakSanitizer (part of ASan on Linux): the Rust suites of
/// [`ASAN_TARGETS`] built with `-Zsanitizer=address` (std itself is not rebuilt: its
/// allocations still go through the instrumented allocator and are leak-checked), then
/// stream-ffi's C program built with `-fsanitize=address` against the library
/// (`NATIVE_STREAM_FFI_ASAN=1`, see `stream-ffi/tests/c_programs.rs`).
fn stage_asan() -> Result<Outcome, String> {
    let rust = SanitizerRun {
        sanitizer: "address",
        dir: "asan",
        build_std: false,
        targets: ASAN_TARGETS,
        env: &[
            // stream-ffi's tests ask for a future too large to allocate and expect null, as
            // malloc gives; ASan's allocator aborts instead unless told to return null.
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:halt_on_error=1:allocator_may_return_null=1",
            ),
            ("STREAM_STRESS_ELEMENTS", "1000000"),
        ],
    }
    .run()?;
    if let Outcome::Skipped(why) = rust {
        return Ok(Outcome::Skipped(why));
    }
    run(cargo()
        .args([
            "test",
            "--locked",
            "-p",
            "stream-ffi",
            "--test",
            "c_programs",
        ])
        .args(["--", "c_program_stream_future_and_bad_input"])
        .env("NATIVE_STREAM_FFI_ASAN", "1")
        .env("NATIVE_STREAM_FFI_VALGRIND", "0"))?;
    Ok(Outcome::Passed)
}

/// Runs each cargo-fuzz target of `fuzz/` for [`FUZZ_SECONDS`] on its committed corpus
/// (`fuzz/corpus/<target>`, read only; new inputs go to `target/fuzz-corpus/<target>`), with
/// AddressSanitizer, cargo-fuzz's default. Installs cargo-fuzz when missing.
fn stage_fuzz() -> Result<Outcome, String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Ok(Outcome::Skipped(
            "fuzzing is run on x86_64 Linux only".into(),
        ));
    }
    if let Err(why) = nightly_with(&[]) {
        return Ok(Outcome::Skipped(why));
    }
    let has_fuzz = || {
        nightly_cargo()
            .args(["fuzz", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has_fuzz() {
        println!("  installing cargo-fuzz");
        let installed = run(cargo().args(["install", "--locked", "cargo-fuzz"]));
        if installed.is_err() || !has_fuzz() {
            return Ok(Outcome::Skipped("cargo-fuzz could not be installed".into()));
        }
    }
    let fuzz = root().join("fuzz");
    let target_dir = root().join("target").join("fuzz");
    for name in FUZZ_TARGETS {
        let found = root().join("target").join("fuzz-corpus").join(name);
        std::fs::create_dir_all(&found).map_err(|e| format!("{}: {e}", found.display()))?;
        run(nightly_cargo()
            .current_dir(&fuzz)
            .args(["fuzz", "run", name])
            .arg("--target-dir")
            .arg(&target_dir)
            .arg(&found)
            .arg(fuzz.join("corpus").join(name))
            .arg("--")
            .arg(format!("-max_total_time={FUZZ_SECONDS}"))
            .args(["-timeout=30", "-rss_limit_mb=4096", "-print_final_stats=1"]))?;
    }
    Ok(Outcome::Passed)
}
