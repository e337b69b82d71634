//! The report of one pass of the benches: the Markdown table and the CSV of every row's median,
//! slowest sample, throughput, ratios to the best peer and to the floor, and the targets met or
//! missed; and the native rows whose slowest sample is far off their median.
//!
//! May touch: nothing (builds strings from the measurements it is given).

use super::interleaved::SPREAD_LIMIT;
use super::tables::{bench_rows, Goal, Role, BENCH_TARGETS_MET, BEST_PEER};
use super::Measured;

/// What [`bench_report`] returns: Markdown, CSV, one line per missed target, one line per
/// native row whose slowest sample is more than [`SPREAD_LIMIT`] times its median.
pub(crate) type PassReport = (String, String, Vec<String>, Vec<String>);

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

/// The report ([`PassReport`]); the Markdown starts with `header`. With `all`, rows with a
/// target that did not run are listed as such and their targets as `n/a`.
pub(crate) fn bench_report(measured: &[Measured], all: bool, header: &str) -> PassReport {
    // Table order: the known rows, then anything new, sorted.
    let mut order: Vec<(String, String, Role)> = Vec::new();
    order.extend(bench_rows().iter().cloned());
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
        "{header}\n\n\
         | group | row | median | slowest | throughput | ratio to best peer | ratio to floor | target | met? |\n\
         |---|---|---:|---:|---:|---:|---:|---|---|\n"
    );
    let mut csv = String::from(
        "group,row,role,median_ns,throughput_per_s,throughput_unit,best_peer,ratio_to_best_peer,\
         floor,ratio_to_floor,target,met,target_ratio,slowest_ns\n",
    );
    let mut misses = Vec::new();
    let mut spreads = Vec::new();
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
        let slowest = m.and_then(|m| m.slowest_ns);
        if let (Some(m), Some(slowest), Role::Native) = (m, slowest, role) {
            if slowest > SPREAD_LIMIT * m.median_ns {
                spreads.push(format!(
                    "{group}/{row} (criterion): slowest sample {}, {:.1}× the median {}",
                    format_time(slowest),
                    slowest / m.median_ns,
                    format_time(m.median_ns)
                ));
            }
        }
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
            "| {group} | {row} | {median} | {} | {} | {} | {} | {} | {} |\n",
            slowest.map_or("—".into(), format_time),
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
                "{group},{row},{role_name},{},{},{},{},{},{},{},\"{target}\",{met},{},{}\n",
                num(m.map(|m| m.median_ns)),
                num(rate.map(|(r, _)| r)),
                rate.map_or("", |(_, u)| u),
                peer.as_ref().map_or("", |(n, _)| n),
                num(peer.as_ref().map(|(_, x)| *x)),
                floor.as_ref().map_or("", |(n, _)| n),
                num(floor.as_ref().map(|(_, x)| *x)),
                num(value),
                num(slowest),
            ));
        }
    }
    (md, csv, misses, spreads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(row: &str, median_ns: f64, slowest_ns: f64) -> Measured {
        Measured {
            group: "stream_round_trip".into(),
            row: row.into(),
            median_ns,
            throughput: None,
            slowest_ns: Some(slowest_ns),
        }
    }

    /// The target is against the fastest peer of the run (rtrb, which spins, is a floor);
    /// a native row's slowest sample over three times its median is a spread.
    #[test]
    fn pass_report_judges_against_the_best_peer_and_reports_spread() {
        let rows = [
            measured("futex", 1000.0, 3500.0),
            measured("spin", 200.0, 300.0),
            measured("crossbeam_bounded1", 1500.0, 1500.0),
            measured("kanal_bounded1", 900.0, 5000.0),
            measured("rtrb", 100.0, 100.0),
        ];
        let (md, csv, misses, spreads) = bench_report(&rows, false, "## Pass");
        assert!(md.starts_with("## Pass\n"), "{md}");
        assert_eq!(misses.len(), 1, "{misses:?}");
        assert!(misses[0].starts_with("stream_round_trip/futex: time < best peer, measured 1.11×"));
        assert_eq!(spreads.len(), 1, "{spreads:?}");
        assert!(spreads[0].contains("slowest sample 3.50 µs, 3.5× the median 1.00 µs"));
        assert!(
            md.contains(
                "| stream_round_trip | futex | 1.00 µs | 3.50 µs | — | 1.11 (kanal_bounded1) |"
            ),
            "{md}"
        );
        let futex = csv
            .lines()
            .find(|l| l.starts_with("stream_round_trip,futex,"));
        assert!(futex.unwrap().ends_with(",3500"), "{csv}");
    }
}
