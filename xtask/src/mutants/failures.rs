//! Which tests a failed test run names: `test x ... FAILED`, Miri's `test x ... error: <what>`,
//! or a panic that aborted the process, as `crate::test` labels for the table.
//!
//! May touch: runs the test command it is given ([`failing_tests`]); otherwise reads text only.

use std::process::Command;

/// Runs a test command and returns the names of the tests that failed (`crate::test`), or
/// `crate (crashed)` when it failed without naming one.
pub(crate) fn failing_tests(cmd: &mut Command, label: &str) -> Vec<String> {
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
pub(crate) fn failing_tests_in(text: &str, label: &str) -> Vec<String> {
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
