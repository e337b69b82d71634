//! `cargo xtask mutants`: the command's options, its run (the unmutated baseline, then every
//! mutant under loom, the unit tests and Miri) and the table it writes.
//!
//! May touch: runs cargo (stable, and nightly for Miri) with `--cfg stream_mutants`, its
//! builds in `target/mutants-loom`, `target/mutants-unit` and `target/mutants-miri` (with a
//! log per mutant there); rewrites `docs/mutants.md` (keeping its `## Notes`) when every
//! mutant ran. The mutants themselves are in [`list`], how Miri runs one in [`miri`], and
//! how a failed test run is read in [`failures`].

mod failures;
mod list;
mod miri;

use std::path::Path;
use std::time::Instant;

use crate::{cargo, nightly_cargo, nightly_with, root, run};
use failures::failing_tests;
use list::{all_mutant_miri_suites, mutant_loom_suites, suite_label, MUTANTS};
use miri::{miri_mutant, MiriVerdict, MUTANT_MIRIFLAGS};

pub(crate) const MUTANTS_USAGE: &str =
    "cargo xtask mutants [--no-miri | --miri-only] [--miri-seeds <n>] \
     [--miri-limit <seconds>] [<mutant>...]";

/// Default number of Miri seeds per mutant (seeds 1..=n, stopping at the first that catches).
const MUTANT_MIRI_SEEDS: u32 = 3;

/// Default time limit, in seconds, for one mutant's Miri runs (all its seeds and suites).
const MUTANT_MIRI_LIMIT: u64 = 180;

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

/// The loom, unit and Miri cells of `docs/mutants.md`'s table, by mutant id (kept by
/// `--miri-only` and `--no-miri` for the columns they do not rerun).
fn previous_columns(doc: &Path) -> std::collections::HashMap<String, (String, String, String)> {
    let text = std::fs::read_to_string(doc).unwrap_or_default();
    let mut cells = std::collections::HashMap::new();
    for line in text.lines() {
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let parts: Vec<&str> = row.split(" | ").collect();
        if let [id, _what, loom, unit, miri, ..] = parts.as_slice() {
            if let Some(id) = id.strip_suffix('`') {
                let miri = miri.strip_suffix(" |").unwrap_or(miri);
                cells.insert(
                    id.to_string(),
                    (loom.to_string(), unit.to_string(), miri.to_string()),
                );
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

pub(crate) fn mutants(args: &[String]) -> Result<(), String> {
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
        // The suites the chosen mutants run, once each.
        let mut suites: Vec<&(&str, &str)> = Vec::new();
        for (id, _) in &list {
            for suite in mutant_loom_suites(id) {
                if !suites.contains(&suite) {
                    suites.push(suite);
                }
            }
        }
        for (krate, test) in suites {
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
            for (krate, test) in mutant_loom_suites(id) {
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
                .map(|(loom, unit, _)| (loom.clone(), unit.clone()))
                .unwrap_or_else(|| ("not run".into(), "not run".into()))
        };
        let miri_cell = if miri {
            miri_mutant(id, &opts, &miri_cmd, &miri_target)?
        } else {
            // Not rerun: the previous table's cell, which counts as no catch here.
            MiriVerdict::NotRun(
                previous
                    .get(*id)
                    .map_or_else(|| "not run".into(), |(_, _, miri)| miri.clone()),
            )
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
         stream-core), every loom suite but for the open lend's mutants (`open-*`), which run \
         `stream-core`'s `loom_open` only; the unit column is `stream-events`' own tests on threads; Miri as \
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
        kept = if !opts.loom {
            " The loom and unit columns were not rerun (`--miri-only`): they are the previous \
             table's (see the notes)."
        } else if !miri {
            " The Miri column was not rerun (`--no-miri`, or Miri could not be had): it is the \
             previous table's (see the notes)."
        } else {
            ""
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_columns_reads_every_cell_of_a_row() {
        let dir = std::env::temp_dir().join(format!("xtask-mutants-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = dir.join("mutants.md");
        std::fs::write(
            &doc,
            "| mutant | what | loom | unit | miri |\n|---|---|---|---|---|\n\
             | `a-b` | x -> y | t1, t2 | — | m: data race (seed 1, 8 s) |\n",
        )
        .unwrap();
        let cells = previous_columns(&doc);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            cells.get("a-b"),
            Some(&(
                "t1, t2".to_string(),
                "—".to_string(),
                "m: data race (seed 1, 8 s)".to_string()
            ))
        );
        assert_eq!(cells.len(), 1);
    }
}
