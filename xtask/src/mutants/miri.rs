//! One mutant under Miri: its suites seed by seed within a time limit, each run killed (with
//! its process group) when the limit is reached, and the verdict for the table.
//!
//! May touch: runs the commands it is given (nightly `cargo miri test`), writes their output
//! to a log file given by the caller, and kills the process group of a run that overruns.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::failures::failing_tests_in;
use super::list::{mutant_miri_suites, suite_label};
use super::MutantOptions;
use crate::describe;

/// Miri's flags for the mutant runs (the seed is added per run). The mutant is chosen by an
/// environment variable, which Miri's isolation hides from the program unless it is
/// forwarded. Stacked Borrows is off: a mutant changes an ordering, not an aliasing pattern
/// (`cargo xtask ci`'s Miri stage checks aliasing, on the unmutated code), and the data-race
/// detector and weak-memory emulation, which are what can see a weakened ordering, stay on.
pub(crate) const MUTANT_MIRIFLAGS: &str =
    "-Zmiri-strict-provenance -Zmiri-disable-stacked-borrows -Zmiri-env-forward=STREAM_MUTANT";

/// What Miri made of one mutant.
pub(crate) enum MiriVerdict {
    Caught(String),
    Survived(String),
    NotRun(String),
}

impl MiriVerdict {
    pub(crate) fn cell(&self) -> &str {
        match self {
            MiriVerdict::Caught(s) | MiriVerdict::Survived(s) | MiriVerdict::NotRun(s) => s,
        }
    }
}

/// Runs mutant `id`'s Miri suites, seed by seed, until one fails or the time limit is reached.
pub(crate) fn miri_mutant(
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
