//! `cargo xtask bench --baseline REV`: the past as a peer. REV is checked out in a git
//! worktree under the target directory; today's `benches` crate replaces the one there (so
//! both sides run the same rows, the same way) and is built without its `current-api` feature
//! against REV's library crates; then the native rows of today's interleaved example and of
//! REV's run in alternating rounds, one process per round and side, and each row's ratio
//! today / REV is the median of the per-round ratios. A native row more than
//! [`REGRESSION_LIMIT`] worse than REV is a regression.
//!
//! Works for revisions whose libraries have the API that `benches` uses without
//! `current-api` (`stream_with`, `ReadAhead`, `Reader::read`, `loan`, `future_with`, the async
//! stream's `AsyncRead`): tried back to 496f15b (2026-11-29). The merged root manifest keeps
//! REV's members, lints and dependencies and adds today's workspace dependencies it lacks.
//!
//! May touch: runs git (`rev-parse`, `worktree add`, `worktree remove`, `worktree prune`) in the
//! repository; creates and removes `target/baseline-<rev>/` (the worktree, removed afterwards
//! even on error) and builds into `target/baseline-target/` (kept, so the next baseline build
//! reuses the dependencies); writes per-round CSVs under the target directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::interleaved::{is_throughput, spread};
use crate::{root, run};

/// A native row more than this much worse than the baseline (1.10: 10 %) is a regression.
pub(crate) const REGRESSION_LIMIT: f64 = 1.10;

/// What [`baseline`] returns.
#[derive(Debug, Default)]
pub(crate) struct BaselineReport {
    /// The section, in Markdown.
    pub(crate) markdown: String,
    /// One line per regression.
    pub(crate) regressions: Vec<String>,
}

/// The worktree of the baseline: removed (and pruned) when dropped.
struct Worktree {
    path: PathBuf,
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let removed = git()
            .args(["worktree", "remove", "--force"])
            .arg(&self.path)
            .status();
        if !removed.is_ok_and(|s| s.success()) {
            let _ = std::fs::remove_dir_all(&self.path);
            let _ = git().args(["worktree", "prune"]).status();
        }
        println!("  removed the worktree {}", self.path.display());
    }
}

fn git() -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(root());
    cmd
}

/// The full hash of `rev`.
fn resolve(rev: &str) -> Result<String, String> {
    let out = git()
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .map_err(|e| format!("git rev-parse: {e}"))?;
    if !out.status.success() {
        return Err(format!("--baseline {rev}: not a commit of this repository"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Copies the directory `from` to `to`, recursively, leaving out `target`.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "target" {
            continue;
        }
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// The lines of the `[workspace.dependencies]` table of a manifest, and the byte range of its
/// body.
fn dependency_table(manifest: &str) -> Option<(Vec<&str>, std::ops::Range<usize>)> {
    let header = "[workspace.dependencies]\n";
    let start = manifest.find(header)? + header.len();
    let end = manifest[start..]
        .find("\n[")
        .map_or(manifest.len(), |at| start + at + 1);
    Some((manifest[start..end].lines().collect(), start..end))
}

/// The key of a dependency line (`name = ...`), if it is one.
fn dependency_key(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.starts_with('#') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim())
}

/// The `benches` manifest with its `current-api` feature enabling nothing: the baseline builds
/// without it, and REV's libraries may lack the dependency features it names (stream-async's
/// `tokio`), which cargo rejects even when the feature is off.
fn without_current_api(manifest: &str) -> String {
    manifest
        .lines()
        .map(|line| {
            if line.starts_with("current-api = ") {
                "current-api = []"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// REV's root manifest with today's workspace dependencies that it lacks added, except path
/// dependencies on crates REV does not have (`exists` says whether a path is there).
pub(crate) fn merge_manifest(
    old: &str,
    today: &str,
    exists: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let (old_lines, old_range) =
        dependency_table(old).ok_or("the baseline's Cargo.toml has no [workspace.dependencies]")?;
    let (today_lines, _) =
        dependency_table(today).ok_or("today's Cargo.toml has no [workspace.dependencies]")?;
    let have: Vec<&str> = old_lines.iter().filter_map(|l| dependency_key(l)).collect();
    let mut added = String::new();
    for line in today_lines {
        let Some(key) = dependency_key(line) else {
            continue;
        };
        let path = line
            .split_once("path = \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(path, _)| path);
        if have.contains(&key) || path.is_some_and(|p| !exists(p)) {
            continue;
        }
        added.push_str(line);
        added.push('\n');
    }
    let mut merged = old.to_string();
    merged.insert_str(old_range.start, &added);
    Ok(merged)
}

/// Figures per (group, row, unit), one per round, for today (`.0`) and the baseline (`.1`).
type Figures = BTreeMap<(String, String, String), (Vec<f64>, Vec<f64>)>;

/// Adds the medians of a one-round CSV of the interleaved example to `figures` (side 0:
/// today, 1: the baseline). A row's first line holds its figure.
pub(crate) fn add_round(figures: &mut Figures, csv: &str, side: usize) -> Result<(), String> {
    let mut seen = Vec::new();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [group, row, median, unit, ..] = fields[..] else {
            return Err(format!("interleaved CSV line {line:?}: too few fields"));
        };
        if seen.contains(&(group, row)) {
            continue;
        }
        seen.push((group, row));
        let median: f64 = median
            .parse()
            .map_err(|e| format!("interleaved CSV line {line:?}: {e}"))?;
        let entry = figures
            .entry((group.into(), row.into(), unit.into()))
            .or_default();
        if side == 0 {
            &mut entry.0
        } else {
            &mut entry.1
        }
        .push(median);
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The section of the baseline comparison and its regressions, from the figures of both
/// sides (paired by round).
pub(crate) fn baseline_report(figures: &Figures, rev: &str, rounds: usize) -> BaselineReport {
    let mut report = BaselineReport {
        markdown: format!(
            "\n## Baseline {rev}\n\n\
             The native rows of the interleaved example, built from today's `benches` crate \
             against {rev}'s libraries and against today's, run in alternating rounds \
             ({rounds} rounds, one process per round and side). *Worse* is the median over the \
             rounds of today's time over {rev}'s (for a throughput, {rev}'s over today's): \
             above {REGRESSION_LIMIT:.2} is a regression. *Slowest* is the slowest round of \
             each side.\n\n\
             | group | row | today | {rev} | worse | slowest today | slowest {rev} | regression? |\n\
             |---|---|---:|---:|---:|---:|---:|---|\n"
        ),
        ..BaselineReport::default()
    };
    for ((group, row, unit), (today, base)) in figures {
        if today.is_empty() || base.is_empty() {
            report.markdown.push_str(&format!(
                "| {group} | {row} | {} | {} | — | — | — | not run on both sides |\n",
                today.len(),
                base.len()
            ));
            continue;
        }
        let throughput = is_throughput(unit);
        let worse = median(
            today
                .iter()
                .zip(base)
                .map(|(&t, &b)| if throughput { b / t } else { t / b })
                .collect(),
        );
        let slowest = |v: &[f64]| {
            v.iter()
                .copied()
                .reduce(if throughput { f64::min } else { f64::max })
                .unwrap_or(f64::NAN)
        };
        let (today_median, base_median) = (median(today.clone()), median(base.clone()));
        let regression = worse > REGRESSION_LIMIT;
        if regression {
            report.regressions.push(format!(
                "{group}/{row}: {:.0} % worse than {rev} ({today_median:.2} {unit} against \
                 {base_median:.2} {unit}; slowest rounds {:.1}× and {:.1}× their medians)",
                (worse - 1.0) * 100.0,
                spread(today_median, slowest(today), unit),
                spread(base_median, slowest(base), unit),
            ));
        }
        report.markdown.push_str(&format!(
            "| {group} | {row} | {today_median:.2} {unit} | {base_median:.2} {unit} | {worse:.3} \
             | {:.2} | {:.2} | {} |\n",
            slowest(today),
            slowest(base),
            if regression { "REGRESSION" } else { "no" },
        ));
    }
    report
}

/// Builds `rev` as a baseline and runs its native rows against today's for `rounds` rounds;
/// `today` is today's interleaved example, built.
pub(crate) fn baseline(
    rev: &str,
    target_dir: &Path,
    today: &Path,
    rounds: usize,
) -> Result<BaselineReport, String> {
    let hash = resolve(rev)?;
    let short = &hash[..hash.len().min(10)];
    let path = target_dir.join(format!("baseline-{short}"));
    if path.exists() {
        // Left by a run killed outright.
        let _ = git()
            .args(["worktree", "remove", "--force"])
            .arg(&path)
            .status();
        let _ = std::fs::remove_dir_all(&path);
        let _ = git().args(["worktree", "prune"]).status();
    }
    println!(
        "==> baseline {rev} ({short}): a worktree at {}",
        path.display()
    );
    run(git()
        .args(["worktree", "add", "--detach", "--quiet"])
        .arg(&path)
        .arg(&hash))?;
    let worktree = Worktree { path };
    let path = &worktree.path;
    // Today's harness over REV's libraries.
    let benches = path.join("benches");
    let _ = std::fs::remove_dir_all(&benches);
    copy_dir(&root().join("benches"), &benches)?;
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let benches_manifest = benches.join("Cargo.toml");
    let without = without_current_api(&read(&benches_manifest)?);
    std::fs::write(&benches_manifest, without)
        .map_err(|e| format!("{}: {e}", benches_manifest.display()))?;
    let manifest = path.join("Cargo.toml");
    let merged = merge_manifest(&read(&manifest)?, &read(&root().join("Cargo.toml"))?, |p| {
        path.join(p).exists()
    })?;
    std::fs::write(&manifest, merged).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let build_dir = target_dir.join("baseline-target");
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(path)
        .env("CARGO_TARGET_DIR", &build_dir)
        .args([
            "build",
            "--release",
            "-p",
            "benches",
            "--no-default-features",
        ])
        .args(["--example", "interleaved"]);
    run(&mut build)?;
    let old = build_dir
        .join("release")
        .join("examples")
        .join("interleaved");
    let mut figures = Figures::new();
    let csv_path = |side: &str| target_dir.join(format!("baseline-round-{side}.csv"));
    for round in 0..rounds {
        println!("  round {}/{rounds}", round + 1);
        // Alternate which side goes first.
        let sides = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in sides {
            let (exe, name) = if side == 0 {
                (today, "today")
            } else {
                (old.as_path(), short)
            };
            let csv = csv_path(name);
            let out = Command::new(exe)
                .args(["all", "1", "--native", "--csv"])
                .arg(&csv)
                .output()
                .map_err(|e| format!("{}: {e}", exe.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} failed ({}): {}",
                    exe.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            add_round(&mut figures, &read(&csv)?, side)?;
            let _ = std::fs::remove_file(&csv);
        }
    }
    drop(worktree);
    Ok(baseline_report(&figures, rev, rounds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "[workspace]\nmembers = [\"stream-core\", \"benches\"]\n\n\
                       [workspace.dependencies]\n\
                       stream-core = { path = \"stream-core\", version = \"0.1.0\" }\n\
                       crossbeam-channel = \"0.5\"\n\n\
                       [workspace.lints.rust]\nmissing_docs = \"warn\"\n";

    #[test]
    fn the_baseline_manifest_enables_nothing_with_current_api() {
        let manifest =
            "[features]\ndefault = [\"current-api\"]\ncurrent-api = [\"stream-async/tokio\"]\n";
        assert_eq!(
            without_current_api(manifest),
            "[features]\ndefault = [\"current-api\"]\ncurrent-api = []\n"
        );
    }

    #[test]
    fn merged_manifest_adds_what_the_old_one_lacks() {
        let today = "[workspace.dependencies]\n\
                     stream-core = { path = \"stream-core\", version = \"0.1.0\" }\n\
                     native-stream = { path = \"native-stream\", version = \"0.1.0\" }\n\
                     # a comment = not a key\n\
                     crossbeam-channel = \"0.5.9\"\n\
                     kanal = { version = \"=0.1.0-pre8\", default-features = false }\n\n\
                     [workspace.lints.rust]\nmissing_docs = \"deny\"\n";
        let merged = merge_manifest(OLD, today, |p| p == "stream-core").unwrap();
        assert!(
            merged.contains("kanal = { version = \"=0.1.0-pre8\""),
            "{merged}"
        );
        // Kept: the old version, the old lints; left out: a crate the old tree lacks.
        assert!(merged.contains("crossbeam-channel = \"0.5\"\n"), "{merged}");
        assert!(!merged.contains("0.5.9"), "{merged}");
        assert!(!merged.contains("native-stream"), "{merged}");
        assert!(merged.contains("missing_docs = \"warn\""), "{merged}");
        assert!(merged.find("kanal").unwrap() < merged.find("[workspace.lints.rust]").unwrap());
        assert!(merge_manifest("[workspace]\n", today, |_| true).is_err());
    }

    #[test]
    fn a_native_row_ten_percent_worse_is_a_regression() {
        let mut figures = Figures::new();
        let today = "group,row,median,unit,reference,ratio,slowest\n\
                     stream_round_trip,futex,1200,ns,futex,1,1300\n\
                     stream_bulk_u8,futex,9,GiB/s,futex,1,8\n\
                     stream_round_trip,spin,100,ns,spin,1,100\n";
        let base = "group,row,median,unit,reference,ratio,slowest\n\
                    stream_round_trip,futex,1000,ns,futex,1,1100\n\
                    stream_bulk_u8,futex,10,GiB/s,futex,1,9\n\
                    stream_round_trip,spin,95,ns,spin,1,100\n";
        for _ in 0..3 {
            add_round(&mut figures, today, 0).unwrap();
            add_round(&mut figures, base, 1).unwrap();
        }
        let report = baseline_report(&figures, "HEAD~1", 3);
        assert_eq!(report.regressions.len(), 2, "{:?}", report.regressions);
        assert!(
            report.regressions[0].starts_with("stream_bulk_u8/futex: 11 % worse than HEAD~1"),
            "{:?}",
            report.regressions
        );
        assert!(report.regressions[1].starts_with("stream_round_trip/futex: 20 % worse"));
        // 5 % is within the limit.
        assert!(
            report.markdown.contains(
                "| stream_round_trip | spin | 100.00 ns | 95.00 ns | 1.053 | 100.00 | 95.00 | no |"
            ),
            "{}",
            report.markdown
        );
    }
}
