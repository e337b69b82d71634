//! The report sections of the interleaved and loaded examples: their CSV of median ratios per
//! round, read into a table with the targets each ratio decides and the one-copy ceiling
//! beside each verdict.
//!
//! May touch: nothing (parses the CSV text it is given).

use super::tables::{Goal, BENCH_CEILINGS, BENCH_TARGETS_MET, LOADED_TARGETS};

/// What [`interleaved_report`] returns.
type InterleavedReport = (String, Vec<(String, String)>, Vec<String>);

/// A target of a ratio table: (group pattern, rows, goal, reference row). A `*` segment of the
/// pattern (segments are separated by `/`) matches any one segment of a group.
type Target = (&'static str, &'static [&'static str], Goal, &'static str);

/// Whether `group` matches `pattern` (see [`Target`]).
fn group_matches(pattern: &str, group: &str) -> bool {
    let (mut p, mut g) = (pattern.split('/'), group.split('/'));
    loop {
        match (p.next(), g.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// The report section of the loaded example's CSV: as [`interleaved_report`], with the
/// loaded profile's targets, for `load` busy processes or threads per kind.
pub(crate) fn loaded_report(
    csv: &str,
    load: usize,
    rounds: usize,
) -> Result<InterleavedReport, String> {
    let heading = format!(
        "\n## Loaded profile\n\n\
         `cargo run --release -p benches --example loaded -- --load {load} --rounds {rounds}`: \
         every group runs quiet, beside {load} busy processes and beside {load} busy threads; \
         each round runs every row of a group once, the ratio to the reference is taken within \
         the round, and the table gives the medians over {rounds} rounds. Groups `…/csw` give \
         context switches (voluntary and involuntary, `getrusage`) per transfer: per round \
         trip, per 64 KiB block, per element.\n\n"
    );
    ratios_report(csv, heading, LOADED_TARGETS)
}

/// The report section of the interleaved example's CSV (`group,row,median,unit,reference,
/// ratio`): every row's median ratio to each reference, with the targets that compare the
/// two; also the (group, row) pairs whose targets it checked, and the targets missed.
pub(crate) fn interleaved_report(csv: &str, rounds: usize) -> Result<InterleavedReport, String> {
    let heading = format!(
        "\n## Interleaved ratios\n\n\
         `cargo run --release -p benches --example interleaved -- all {rounds}`: each round runs \
         every row of a group once, the ratio to the reference is taken within the round, and \
         the table gives the medians over {rounds} rounds (bulk rows move 64 MiB or 2 Mi `u64`s \
         a round). On a shared machine these ratios are the ones to decide by: a target \
         checked here is met or missed by this table, whatever the table above says.\n\n"
    );
    ratios_report(csv, heading, BENCH_TARGETS_MET)
}

/// A table of a ratio CSV (`group,row,median,unit,reference,ratio`) after `heading`, with the
/// targets (`goals`) each line decides; also the (group, row) pairs whose targets it checked, and
/// the targets missed.
fn ratios_report(
    csv: &str,
    heading: String,
    goals: &[Target],
) -> Result<InterleavedReport, String> {
    let mut md = heading;
    md.push_str(
        "| group | row | median | ratio | reference | target | met? |\n\
         |---|---|---:|---:|---|---|---|\n",
    );
    let mut misses = Vec::new();
    let mut covered = Vec::new();
    let mut lines = Vec::new();
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [group, row, median, unit, reference, ratio] = fields[..] else {
            return Err(format!(
                "interleaved CSV line {line:?}: six fields expected"
            ));
        };
        let number = |x: &str| {
            x.parse::<f64>()
                .map_err(|e| format!("interleaved CSV line {line:?}: {e}"))
        };
        lines.push((group, row, number(median)?, unit, reference, number(ratio)?));
    }
    // The ceiling row's ratio to `reference` in `group`, if the group has one.
    let ceiling = |group: &str, reference: &str| {
        let (_, _, ceiling_row) = BENCH_CEILINGS
            .iter()
            .find(|(g, r, _)| *g == group && *r == reference)?;
        lines
            .iter()
            .find(|(g, row, _, _, r, _)| *g == group && row == ceiling_row && *r == reference)
            .map(|&(_, row, _, _, _, ratio)| (row, ratio))
    };
    for &(group, row, median, unit, reference, ratio) in &lines {
        if row == reference {
            continue;
        }
        let mut targets = Vec::new();
        let mut mets = Vec::new();
        for (_, _, goal, _) in goals.iter().filter(|(g, rows, _, r)| {
            group_matches(g, group) && rows.contains(&row) && *r == reference
        }) {
            let text = goal.text(reference);
            let ok = goal.is_met(ratio);
            let bound = ceiling(group, reference).map_or(String::new(), |(ceiling_row, c)| {
                format!("; one-copy ceiling {ceiling_row} {c:.2}×")
            });
            if !ok {
                misses.push(format!(
                    "{group}/{row} (interleaved): {text}, measured {ratio:.2}×{bound}"
                ));
            }
            mets.push(format!(
                "{} ({ratio:.2}×{bound})",
                if ok { "yes" } else { "NO" }
            ));
            targets.push(text);
        }
        if !targets.is_empty() {
            covered.push((group.to_string(), row.to_string()));
        }
        let or_dash = |v: Vec<String>| {
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join("; ")
            }
        };
        md.push_str(&format!(
            "| {group} | {row} | {median:.2} {unit} | {ratio:.3} | {reference} | {} | {} |\n",
            or_dash(targets),
            or_dash(mets),
        ));
    }
    Ok((md, covered, misses))
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

    #[test]
    fn interleaved_miss_names_the_one_copy_ceiling() {
        let (md, covered, misses) = interleaved_report(&bulk_csv(1.21, 1.25), 15).unwrap();
        assert_eq!(misses.len(), 3, "{misses:?}");
        assert!(
            misses[0].contains("measured 1.21×; one-copy ceiling crossbeam_recycled 1.25×"),
            "{misses:?}"
        );
        assert!(md.contains("| NO (1.21×; one-copy ceiling crossbeam_recycled 1.25×) |"));
        assert_eq!(covered.len(), 3);
        assert!(covered.contains(&("stream_bulk_u8".into(), "futex".into())));
    }

    #[test]
    fn interleaved_met_target_is_not_a_miss() {
        let (md, _, misses) = interleaved_report(&bulk_csv(1.42, 1.5), 15).unwrap();
        assert!(misses.is_empty(), "{misses:?}");
        assert!(md.contains("| yes (1.42×; one-copy ceiling crossbeam_recycled 1.50×) |"));
        // The ceiling row is a peer: no target, so no ceiling beside itself.
        assert!(md.contains("| stream_bulk_u8 | crossbeam_recycled | 10.00 GiB/s | 1.500 |"));
    }

    #[test]
    fn group_patterns_match_one_segment_per_star() {
        assert!(group_matches(
            "loaded/*/stream_bulk_u8",
            "loaded/threads/stream_bulk_u8"
        ));
        assert!(!group_matches(
            "loaded/*/stream_bulk_u8",
            "loaded/threads/stream_bulk_u8/csw"
        ));
        assert!(!group_matches(
            "loaded/*/stream_bulk_u8",
            "loaded/stream_bulk_u8"
        ));
        assert!(group_matches("stream_bulk_u8", "stream_bulk_u8"));
    }

    /// The loaded profile's targets apply to every kind of load, and a context-switch ratio
    /// (infinite when the peer made none) is checked like a time.
    #[test]
    fn loaded_targets_apply_to_every_kind() {
        let csv = "group,row,median,unit,reference,ratio\n\
                   loaded/processes/stream_round_trip,futex,900,ns,crossbeam_bounded1,0.5\n\
                   loaded/threads/stream_round_trip,futex,900,ns,crossbeam_bounded1,1.5\n\
                   loaded/threads/stream_bulk_u8/csw,futex,2,csw,sync_channel4,inf\n";
        let (md, covered, misses) = loaded_report(csv, 2, 5).unwrap();
        assert_eq!(covered.len(), 3, "{covered:?}");
        assert_eq!(misses.len(), 2, "{misses:?}");
        assert!(
            misses[0].starts_with("loaded/threads/stream_round_trip/futex"),
            "{misses:?}"
        );
        assert!(misses[1].contains("measured inf×"), "{misses:?}");
        assert!(md.contains("| loaded/processes/stream_round_trip | futex | 900.00 ns | 0.500 |"));
    }

    #[test]
    fn interleaved_rejects_a_short_line() {
        let err = interleaved_report("header\nstream_bulk_u8,spin,10\n", 15).unwrap_err();
        assert!(err.contains("six fields expected"), "{err}");
    }
}
