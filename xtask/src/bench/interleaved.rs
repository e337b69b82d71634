//! The report sections of the interleaved example: its CSV of median ratios per
//! round, read into a table with the targets each ratio decides (against a named row or the
//! best peer of the group in that run), the one-copy ceiling beside each verdict, and the
//! slowest round of every row, with the native rows whose slowest round is far off their
//! median.
//!
//! May touch: nothing (parses the CSV text it is given).

use super::tables::{role_of, Goal, Role, BENCH_CEILINGS, BENCH_TARGETS_MET, BEST_PEER};

/// A native row whose slowest round takes more than this many times its median is reported.
pub(crate) const SPREAD_LIMIT: f64 = 3.0;

/// What [`interleaved_report`] returns.
#[derive(Debug, Default)]
pub(crate) struct RatiosReport {
    /// The section, in Markdown.
    pub(crate) markdown: String,
    /// The (group, row) pairs whose targets the section checked.
    pub(crate) covered: Vec<(String, String)>,
    /// One line per target missed.
    pub(crate) misses: Vec<String>,
    /// One line per native row whose slowest round is more than [`SPREAD_LIMIT`] times its
    /// median.
    pub(crate) spreads: Vec<String>,
}

/// A target of a ratio table: (group, rows, goal, reference row).
type Target = (&'static str, &'static [&'static str], Goal, &'static str);

/// Whether figures in `unit` are throughputs (higher is better), else times or counts.
pub(crate) fn is_throughput(unit: &str) -> bool {
    unit.ends_with("/s")
}

/// How many times worse the slowest round is than the median: above 1 unless all rounds are
/// equal (for a throughput, the median over the lowest).
pub(crate) fn spread(median: f64, slowest: f64, unit: &str) -> f64 {
    if is_throughput(unit) {
        median / slowest
    } else {
        slowest / median
    }
}

/// The report section of the interleaved example's CSV (`group,row,median,unit,reference,
/// ratio[,slowest]`): every row's median ratio to each reference, with the targets that compare
/// the two. `heading` opens the section; the targets of the rows in `exempt` are not judged;
/// `profile` (when not empty) names the condition in each miss.
pub(crate) fn interleaved_report(
    csv: &str,
    heading: String,
    exempt: &[&str],
    profile: &str,
) -> Result<RatiosReport, String> {
    ratios_report(csv, heading, BENCH_TARGETS_MET, exempt, profile)
}

/// One line of a ratio CSV.
struct Line<'a> {
    group: &'a str,
    row: &'a str,
    median: f64,
    unit: &'a str,
    reference: &'a str,
    ratio: f64,
    slowest: Option<f64>,
}

/// Reads a ratio CSV (`group,row,median,unit,reference,ratio` and, from the examples of
/// 2026-12-06 on, `slowest`), header first.
fn parse_lines(csv: &str) -> Result<Vec<Line<'_>>, String> {
    let mut lines = Vec::new();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (group, row, median, unit, reference, ratio, slowest) = match fields[..] {
            [g, r, m, u, re, ra] => (g, r, m, u, re, ra, None),
            [g, r, m, u, re, ra, sl] => (g, r, m, u, re, ra, Some(sl)),
            _ => {
                return Err(format!(
                    "interleaved CSV line {line:?}: six or seven fields expected"
                ))
            }
        };
        let number = |x: &str| {
            x.parse::<f64>()
                .map_err(|e| format!("interleaved CSV line {line:?}: {e}"))
        };
        lines.push(Line {
            group,
            row,
            median: number(median)?,
            unit,
            reference,
            ratio: number(ratio)?,
            slowest: slowest.map(number).transpose()?,
        });
    }
    Ok(lines)
}

/// The best peer of `group` among `lines`: of the rows that are references of the group and
/// peers by [`role_of`], the one with the best median (lowest time, highest throughput).
fn best_peer<'a>(lines: &[Line<'a>], group: &str) -> Option<&'a str> {
    lines
        .iter()
        .filter(|l| l.group == group && l.row == l.reference && role_of(group, l.row) == Role::Peer)
        .min_by(|a, b| {
            let key = |l: &Line<'_>| {
                if is_throughput(l.unit) {
                    -l.median
                } else {
                    l.median
                }
            };
            key(a).total_cmp(&key(b))
        })
        .map(|l| l.row)
}

/// A table of a ratio CSV after `heading`, with the targets (`goals`) each line decides, the
/// rows in `exempt` left unjudged.
fn ratios_report(
    csv: &str,
    heading: String,
    goals: &[Target],
    exempt: &[&str],
    profile: &str,
) -> Result<RatiosReport, String> {
    let mut report = RatiosReport {
        markdown: heading,
        ..RatiosReport::default()
    };
    report.markdown.push_str(
        "| group | row | median | slowest | ratio | reference | target | met? |\n\
         |---|---|---:|---:|---:|---|---|---|\n",
    );
    let lines = parse_lines(csv)?;
    // The ceiling row's ratio to `reference` in `group`, if the group has one.
    let ceiling = |group: &str, reference: &str| {
        let (_, _, ceiling_row) = BENCH_CEILINGS
            .iter()
            .find(|(g, r, _)| *g == group && *r == reference)?;
        lines
            .iter()
            .find(|l| l.group == group && l.row == *ceiling_row && l.reference == reference)
            .map(|l| (l.row, l.ratio))
    };
    let where_ = if profile.is_empty() {
        "interleaved".to_string()
    } else {
        format!("interleaved, {profile}")
    };
    for line in &lines {
        let &Line {
            group,
            row,
            median,
            unit,
            reference,
            ratio,
            slowest,
        } = line;
        // The spread, once per row (on its first line).
        let first_of_row = lines
            .iter()
            .position(|l| l.group == group && l.row == row)
            .is_some_and(|at| std::ptr::eq(&lines[at], line));
        if let Some(slowest) = slowest.filter(|_| first_of_row) {
            let times = spread(median, slowest, unit);
            let counts = group.ends_with("/csw") || group.ends_with("/recovery");
            if role_of(group, row) == Role::Native && !counts && times > SPREAD_LIMIT {
                report.spreads.push(format!(
                    "{group}/{row} ({where_}): slowest round {slowest:.2} {unit}, \
                     {times:.1}× the median {median:.2} {unit}"
                ));
            }
        }
        // Of a group with peers, only the lines to its best peer (and the best peer's own
        // line, for its median), to the references the row's targets name and to a ceiling's
        // reference (the CSV has them all).
        let best = best_peer(&lines, group);
        if row == reference && best != Some(row) {
            continue;
        }
        let named = |r: &str| {
            goals
                .iter()
                .any(|(g, rows, _, gr)| *g == group && rows.contains(&row) && *gr == r)
                || BENCH_CEILINGS
                    .iter()
                    .any(|(g, gr, _)| *g == group && *gr == r)
        };
        if best.is_some() && best != Some(reference) && !named(reference) {
            continue;
        }
        let mut targets = Vec::new();
        let mut mets = Vec::new();
        for (_, _, goal, target_reference) in goals.iter().filter(|(g, rows, _, r)| {
            *g == group
                && rows.contains(&row)
                && !exempt.contains(&row)
                && (*r == reference || (*r == BEST_PEER && best == Some(reference)))
        }) {
            let text = if *target_reference == BEST_PEER {
                goal.text(&format!("{BEST_PEER} ({reference})"))
            } else {
                goal.text(reference)
            };
            let ok = goal.is_met(ratio);
            let bound = ceiling(group, reference).map_or(String::new(), |(ceiling_row, c)| {
                format!("; one-copy ceiling {ceiling_row} {c:.2}×")
            });
            if !ok {
                report.misses.push(format!(
                    "{group}/{row} ({where_}): {text}, measured {ratio:.2}×{bound}"
                ));
            }
            mets.push(format!(
                "{} ({ratio:.2}×{bound})",
                if ok { "yes" } else { "NO" }
            ));
            targets.push(text);
        }
        if !targets.is_empty() {
            report.covered.push((group.to_string(), row.to_string()));
        }
        let or_dash = |v: Vec<String>| {
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join("; ")
            }
        };
        report.markdown.push_str(&format!(
            "| {group} | {row} | {median:.2} {unit} | {} | {ratio:.3} | {reference} | {} | {} |\n",
            slowest.map_or("—".into(), |s| format!("{s:.2}")),
            or_dash(targets),
            or_dash(mets),
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interleaved example's CSV for `stream_bulk_u8`, with the native rows at `native`
    /// times `crossbeam_recycled_copy` and the in-place row at `ceiling` times it.
    fn bulk_csv(native: f64, ceiling: f64) -> String {
        let mut csv = String::from("group,row,median,unit,reference,ratio\n");
        for row in ["spin", "futex", "listener"] {
            csv.push_str(&format!(
                "stream_bulk_u8,{row},10,GiB/s,crossbeam_recycled_copy,{native}\n"
            ));
        }
        csv.push_str(&format!(
            "stream_bulk_u8,crossbeam_recycled,10,GiB/s,crossbeam_recycled_copy,{ceiling}\n\
             stream_bulk_u8,crossbeam_recycled_copy,8,GiB/s,crossbeam_recycled_copy,1\n"
        ));
        csv
    }

    fn report(csv: &str) -> RatiosReport {
        interleaved_report(csv, String::new(), &[], "").unwrap()
    }

    #[test]
    fn interleaved_miss_names_the_one_copy_ceiling() {
        let r = report(&bulk_csv(1.21, 1.25));
        assert_eq!(r.misses.len(), 3, "{:?}", r.misses);
        assert!(
            r.misses[0].contains("measured 1.21×; one-copy ceiling crossbeam_recycled 1.25×"),
            "{:?}",
            r.misses
        );
        assert!(r
            .markdown
            .contains("| NO (1.21×; one-copy ceiling crossbeam_recycled 1.25×) |"));
        assert_eq!(r.covered.len(), 3);
        assert!(r
            .covered
            .contains(&("stream_bulk_u8".into(), "futex".into())));
    }

    #[test]
    fn interleaved_met_target_is_not_a_miss() {
        let r = report(&bulk_csv(1.42, 1.5));
        assert!(r.misses.is_empty(), "{:?}", r.misses);
        assert!(r
            .markdown
            .contains("| yes (1.42×; one-copy ceiling crossbeam_recycled 1.50×) |"));
        // The ceiling row is a peer: no target, so no ceiling beside itself.
        assert!(r
            .markdown
            .contains("| stream_bulk_u8 | crossbeam_recycled | 10.00 GiB/s | — | 1.500 |"));
    }

    /// The context-switch columns of the busy profiles (`--csw`): a ratio (infinite when the
    /// peer made none) is checked like a time, and the async element groups' target is judged.
    #[test]
    fn context_switch_targets_are_checked_like_times() {
        let csv = "group,row,median,unit,reference,ratio\n\
                   stream_write_slice/csw,write_slice_vec,0.5,csw,crossbeam_bounded4,1.5\n\
                   stream_write_slice/csw,write_slice_vec,0.5,csw,sync_channel4,inf\n\
                   stream_bulk_u8/csw,futex,2,csw,crossbeam_recycled_copy,2.5\n\
                   async_current_thread,native_sink,90,Melem/s,tokio_mpsc256,3.2\n";
        let r = report(csv);
        assert_eq!(r.covered.len(), 4, "{:?}", r.covered);
        assert_eq!(r.misses.len(), 2, "{:?}", r.misses);
        assert!(
            r.misses[0].starts_with("stream_write_slice/csw/write_slice_vec")
                && r.misses[0].contains("sync_channel4, measured inf×"),
            "{:?}",
            r.misses
        );
        assert!(
            r.misses[1].starts_with("stream_bulk_u8/csw/futex")
                && r.misses[1].contains("measured 2.50×"),
            "{:?}",
            r.misses
        );
        assert!(r
            .markdown
            .contains("| async_current_thread | native_sink | 90.00 Melem/s | — | 3.200 |"));
    }

    /// A round-trip target is judged against the fastest peer of the run, whichever it is;
    /// the lines to the other peers stay out of the table.
    #[test]
    fn round_trip_target_is_against_the_best_peer() {
        let csv = "group,row,median,unit,reference,ratio,slowest\n\
                   stream_round_trip,futex,900,ns,crossbeam_bounded1,0.5,1000\n\
                   stream_round_trip,futex,900,ns,kanal_bounded1,1.2,1000\n\
                   stream_round_trip,crossbeam_bounded1,1800,ns,crossbeam_bounded1,1,1900\n\
                   stream_round_trip,crossbeam_bounded1,1800,ns,kanal_bounded1,2.4,1900\n\
                   stream_round_trip,kanal_bounded1,750,ns,crossbeam_bounded1,0.41,800\n\
                   stream_round_trip,kanal_bounded1,750,ns,kanal_bounded1,1,800\n";
        let r = report(csv);
        assert_eq!(r.misses.len(), 1, "{:?}", r.misses);
        assert!(
            r.misses[0].contains("time < best peer (kanal_bounded1), measured 1.20×"),
            "{:?}",
            r.misses
        );
        assert!(!r
            .markdown
            .contains("| futex | 900.00 ns | 1000.00 | 0.500 |"));
        assert!(r.markdown.contains(
            "| stream_round_trip | futex | 900.00 ns | 1000.00 | 1.200 | kanal_bounded1 |"
        ));
        // The best peer's own line gives its median; another peer's does not show.
        assert!(r.markdown.contains(
            "| stream_round_trip | kanal_bounded1 | 750.00 ns | 800.00 | 1.000 | kanal_bounded1 | — | — |"
        ), "{}", r.markdown);
        assert!(!r
            .markdown
            .contains("| crossbeam_bounded1 | 1800.00 ns | 1900.00 | 1.000 |"));
        // An exempt row is listed but not judged.
        let r = interleaved_report(csv, String::new(), &["futex"], "busy-loops").unwrap();
        assert!(
            r.misses.is_empty() && r.covered.is_empty(),
            "{:?}",
            r.misses
        );
    }

    /// A native row whose slowest round is over three times its median is reported once; a
    /// peer's, a throughput within bounds and a count's are not.
    #[test]
    fn spread_is_reported_for_native_rows_only() {
        let csv = "group,row,median,unit,reference,ratio,slowest\n\
                   stream_round_trip,futex,900,ns,crossbeam_bounded1,0.5,3000\n\
                   stream_round_trip,futex,900,ns,kanal_bounded1,0.6,3000\n\
                   stream_round_trip,spin,900,ns,crossbeam_bounded1,0.5,2600\n\
                   stream_round_trip,crossbeam_bounded1,1800,ns,crossbeam_bounded1,1,9000\n\
                   stream_bulk_u8,futex,10,GiB/s,crossbeam_recycled_copy,1.4,3\n\
                   stream_bulk_u8,spin,10,GiB/s,crossbeam_recycled_copy,1.4,4\n\
                   disturbed/stream_round_trip/recovery,futex,1,hand-offs,futex,1,40\n";
        let r = interleaved_report(csv, String::new(), &[], "quiet").unwrap();
        assert_eq!(r.spreads.len(), 2, "{:?}", r.spreads);
        assert!(
            r.spreads[0].starts_with(
                "stream_round_trip/futex (interleaved, quiet): slowest round 3000.00 ns, 3.3×"
            ),
            "{:?}",
            r.spreads
        );
        assert!(
            r.spreads[1].starts_with("stream_bulk_u8/futex"),
            "{:?}",
            r.spreads
        );
    }

    /// A line to a floor shows only for a row whose target names that floor.
    #[test]
    fn lines_to_references_no_target_names_stay_out() {
        let csv = "group,row,median,unit,reference,ratio,slowest\n\
                   events_round_trip,spin,150,ns,raw_spin,1.5,160\n\
                   events_round_trip,spin,150,ns,kanal_bounded1,0.1,160\n\
                   events_round_trip,futex,300,ns,raw_spin,3,320\n\
                   events_round_trip,futex,300,ns,kanal_bounded1,0.2,320\n\
                   events_round_trip,kanal_bounded1,1500,ns,raw_spin,15,1600\n\
                   events_round_trip,kanal_bounded1,1500,ns,kanal_bounded1,1,1600\n";
        let r = report(csv);
        assert!(r.misses.is_empty(), "{:?}", r.misses);
        let md = &r.markdown;
        assert!(
            md.contains("| events_round_trip | spin | 150.00 ns | 160.00 | 1.500 | raw_spin |"),
            "{md}"
        );
        assert!(
            !md.contains("| futex | 300.00 ns | 320.00 | 3.000 | raw_spin |"),
            "{md}"
        );
        assert!(
            !md.contains("| kanal_bounded1 | 1500.00 ns | 1600.00 | 15.000 | raw_spin |"),
            "{md}"
        );
        assert!(md.contains("| futex | 300.00 ns | 320.00 | 0.200 | kanal_bounded1 | time < best peer (kanal_bounded1) | yes (0.20×) |"), "{md}");
    }

    #[test]
    fn interleaved_rejects_a_short_line() {
        let err = interleaved_report("header\nstream_bulk_u8,spin,10\n", String::new(), &[], "")
            .unwrap_err();
        assert!(err.contains("six or seven fields expected"), "{err}");
    }
}
