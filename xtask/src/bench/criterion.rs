//! Reading criterion's results back: every `new/benchmark.json` written in this run, with the
//! median of its `estimates.json`, the slowest sample of its `sample.json` and its throughput.
//!
//! May touch: reads the files under criterion's directory; writes nothing.

use std::path::Path;

use super::Measured;

/// Every `new/benchmark.json` under `dir` written since `since`, with its median.
pub(crate) fn read_criterion(
    dir: &Path,
    since: std::time::SystemTime,
) -> Result<Vec<Measured>, String> {
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
        // The slowest sample per iteration; criterion's samples are (iterations, total time).
        let slowest_ns = read(&path.with_file_name("sample.json"))
            .ok()
            .and_then(|sample| slowest_sample(&sample));
        measured.push(Measured {
            group,
            row,
            median_ns,
            throughput,
            slowest_ns,
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

/// The longest time per iteration of a criterion `sample.json`
/// (`{"sampling_mode":..,"iters":[..],"times":[..]}`).
pub(crate) fn slowest_sample(json: &str) -> Option<f64> {
    let (iters, times) = (json_numbers(json, "iters")?, json_numbers(json, "times")?);
    if iters.len() != times.len() {
        return None;
    }
    iters
        .iter()
        .zip(&times)
        .map(|(n, t)| t / n)
        .reduce(f64::max)
}

/// The numbers of the array value of the first `"key":` in `json`.
fn json_numbers(json: &str, key: &str) -> Option<Vec<f64>> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = json[at..].trim_start().strip_prefix('[')?;
    let body = &rest[..rest.find(']')?];
    body.split(',').map(|x| x.trim().parse().ok()).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowest_sample_is_the_longest_time_per_iteration() {
        let json =
            r#"{"sampling_mode":"Linear","iters":[10.0,20.0,30.0],"times":[1000.0,4000.0,3000.0]}"#;
        assert_eq!(slowest_sample(json), Some(200.0));
        assert_eq!(slowest_sample(r#"{"iters":[1.0],"times":[]}"#), None);
        assert_eq!(slowest_sample("{}"), None);
    }
}
