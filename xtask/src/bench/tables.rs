//! What the bench report knows: the rows of each group and their roles (read from
//! `benches/roles.csv`, which the `benches` crate defines them in), the targets of the issues
//! and how each compares a row with its reference, and the one-copy ceilings.
//!
//! May touch: nothing (tables and pure functions).

/// What a row is to the report.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A backend of ours.
    Native,
    /// A primitive users would otherwise pick: "ratio to best peer" is against the fastest.
    Peer,
    /// A lower bound (no second thread, no stream): "ratio to floor" is against the first.
    Floor,
    /// A row this table does not know yet.
    Other,
}

/// The roles of the rows, as `benches/roles.csv` defines them for `benches` and this command
/// alike (`group,row,role` lines, `#` comments, one header line).
const ROLES_CSV: &str = include_str!("../../../benches/roles.csv");

/// The rows the report knows, in table order: (group, row, role), from [`ROLES_CSV`]. A group
/// is criterion's group, or `group/function` where criterion has a function and a value
/// (`future`).
pub(crate) fn bench_rows() -> &'static [(String, String, Role)] {
    static ROWS: std::sync::OnceLock<Vec<(String, String, Role)>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| parse_roles(ROLES_CSV).unwrap_or_else(|e| panic!("benches/roles.csv: {e}")))
}

/// Parses a roles CSV (`group,row,role`; `#` comments and the header line skipped).
fn parse_roles(text: &str) -> Result<Vec<(String, String, Role)>, String> {
    let mut rows = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line == "group,row,role" {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [group, row, role] = fields[..] else {
            return Err(format!("`{line}`: expected group,row,role"));
        };
        let role = match role {
            "native" => Role::Native,
            "peer" => Role::Peer,
            "floor" => Role::Floor,
            other => return Err(format!("`{line}`: unknown role `{other}`")),
        };
        if rows.iter().any(|(g, r, _)| g == group && r == row) {
            return Err(format!("`{line}`: the row is listed twice"));
        }
        rows.push((group.to_string(), row.to_string(), role));
    }
    Ok(rows)
}

/// The role of `row` in `group`: as [`bench_rows`] says, the group's profile prefix
/// (`disturbed/`) and suffix (`/csw`, `/recovery`) left out; `Other` if unknown.
pub(crate) fn role_of(group: &str, row: &str) -> Role {
    let mut base = group.strip_prefix("disturbed/").unwrap_or(group);
    for suffix in ["/csw", "/recovery"] {
        base = base.strip_suffix(suffix).unwrap_or(base);
    }
    bench_rows()
        .iter()
        .find(|(g, r, _)| g == base && r == row)
        .map_or(Role::Other, |(_, _, role)| *role)
}

/// A target's reference that means "the fastest peer row of the group in this run".
pub(crate) const BEST_PEER: &str = "best peer";

/// How a target compares a row with its reference row.
#[derive(Clone, Copy)]
pub(crate) enum Goal {
    /// Median at most this many times the reference's.
    TimeAtMost(f64),
    /// Median strictly below the reference's.
    TimeBelow,
    /// Throughput at least this many times the reference's.
    ThroughputAtLeast(f64),
    /// Context switches per transfer at most this many times the reference's.
    SwitchesAtMost(f64),
}

impl Goal {
    /// The target as a sentence about `reference`.
    pub(crate) fn text(self, reference: &str) -> String {
        match self {
            Goal::TimeAtMost(1.0) => format!("time ≤ {reference}"),
            Goal::TimeAtMost(f) => format!("time ≤ {f}× {reference}"),
            Goal::TimeBelow => format!("time < {reference}"),
            Goal::ThroughputAtLeast(f) => format!("throughput ≥ {f}× {reference}"),
            Goal::SwitchesAtMost(f) => format!("context switches ≤ {f}× {reference}"),
        }
    }

    /// Whether the goal compares throughputs (else times).
    pub(crate) fn is_throughput(self) -> bool {
        matches!(self, Goal::ThroughputAtLeast(_))
    }

    /// Whether `ratio` (row over reference, of times or of throughputs as the goal says)
    /// meets the goal.
    pub(crate) fn is_met(self, ratio: f64) -> bool {
        match self {
            Goal::TimeAtMost(f) | Goal::SwitchesAtMost(f) => ratio <= f,
            Goal::TimeBelow => ratio < 1.0,
            Goal::ThroughputAtLeast(f) => ratio >= f,
        }
    }
}

/// The targets of the stream-events, stream-core, stream-future and program issues:
/// (group, rows, goal, reference row), all within one run.
pub(crate) const BENCH_TARGETS_MET: &[(&str, &[&str], Goal, &str)] = {
    const ALL: &[&str] = &["spin", "futex", "listener"];
    // The backends that park: what a busy machine judges (the spin one never parks, by design).
    const PARKING: &[&str] = &["futex", "listener"];
    const WRITE_SLICE: &[&str] = &["write_slice_aligned", "write_slice_vec"];
    &[
        (
            "events_round_trip",
            &["spin"],
            Goal::TimeAtMost(2.0),
            "raw_spin",
        ),
        (
            "events_round_trip",
            &["futex", "listener"],
            Goal::TimeBelow,
            BEST_PEER,
        ),
        ("stream_round_trip", ALL, Goal::TimeBelow, BEST_PEER),
        (
            "stream_bulk_u8",
            ALL,
            Goal::ThroughputAtLeast(1.3),
            "crossbeam_recycled_copy",
        ),
        ("stream_bulk_u64", ALL, Goal::ThroughputAtLeast(3.0), "rtrb"),
        (
            "future/create_send_recv",
            ALL,
            Goal::TimeAtMost(1.0),
            "oneshot",
        ),
        ("future/pipelined", ALL, Goal::TimeAtMost(1.0), "oneshot"),
        (
            "future/reader_waiting",
            ALL,
            Goal::TimeAtMost(0.5),
            "oneshot",
        ),
        (
            "async_round_trip",
            &["native"],
            Goal::TimeAtMost(0.8),
            BEST_PEER,
        ),
        (
            "async_round_trip_tokio_rt",
            &["native"],
            Goal::TimeAtMost(0.8),
            BEST_PEER,
        ),
        (
            "async_bulk_u8",
            &["async_io", "async_bufread"],
            Goal::ThroughputAtLeast(0.5),
            "blocking",
        ),
        // Issue 25: the plain API a user reaches for, beside what the program would use
        // otherwise; judged in every profile that runs the group (quiet, busy).
        (
            "stream_write_slice",
            WRITE_SLICE,
            Goal::ThroughputAtLeast(1.0),
            "crossbeam_bounded4",
        ),
        (
            "stream_write_slice",
            WRITE_SLICE,
            Goal::ThroughputAtLeast(1.0),
            "sync_channel4",
        ),
        (
            "program_serde_json",
            &["native"],
            Goal::TimeAtMost(1.0),
            "unix_stream",
        ),
        (
            "program_lines",
            &["native"],
            Goal::TimeAtMost(1.0),
            "unix_stream",
        ),
        (
            "program_send",
            &["native"],
            Goal::TimeAtMost(1.0),
            "sync_channel1024",
        ),
        (
            "program_send",
            &["native"],
            Goal::TimeAtMost(1.0),
            "crossbeam_bounded1024",
        ),
        (
            "program_framed_current_thread",
            &["native"],
            Goal::TimeAtMost(1.0),
            "tokio_duplex64k",
        ),
        (
            "program_framed_multi_thread",
            &["native"],
            Goal::TimeAtMost(1.0),
            "tokio_duplex64k",
        ),
        // The groups below run in the busy profiles only (`--csw`, `async_elements`): the
        // targets of the loaded profile of 2026-12-01, which those profiles replaced.
        (
            "stream_bulk_u8/csw",
            PARKING,
            Goal::SwitchesAtMost(2.0),
            "crossbeam_recycled_copy",
        ),
        (
            "stream_write_slice/csw",
            WRITE_SLICE,
            Goal::SwitchesAtMost(2.0),
            "crossbeam_bounded4",
        ),
        (
            "stream_write_slice/csw",
            WRITE_SLICE,
            Goal::SwitchesAtMost(2.0),
            "sync_channel4",
        ),
        (
            "async_current_thread",
            &["native_sink"],
            Goal::ThroughputAtLeast(1.0),
            "tokio_mpsc256",
        ),
    ]
};

/// Ceilings of throughput targets: (group, reference, ceiling row). The ceiling row is a peer
/// that does the native rows' work with one copy per byte (as a stream does), so its ratio to
/// the reference in the same round is as far as any one-copy transport got on this host in
/// that run. The interleaved report shows it beside each verdict of that target, met or missed.
///
/// `crossbeam_recycled` checks each block in place, where `crossbeam_recycled_copy` copies it
/// out first: when the host's cross-core traffic rather than the copies sets the pace, their
/// ratio falls under the 1.3 that `stream_bulk_u8` asks for, and the native rows with it.
pub(crate) const BENCH_CEILINGS: &[(&str, &str, &str)] = &[(
    "stream_bulk_u8",
    "crossbeam_recycled_copy",
    "crossbeam_recycled",
)];

#[cfg(test)]
mod tests {
    use super::*;

    /// `benches/roles.csv` parses, and every target names rows it knows: a row renamed in
    /// `benches` without its line there fails here, not silently in a run.
    #[test]
    fn every_target_names_known_rows() {
        let rows = bench_rows();
        assert!(rows.len() > 50, "{}", rows.len());
        for (group, natives, _, reference) in BENCH_TARGETS_MET {
            for row in natives
                .iter()
                .chain([reference].into_iter().filter(|r| **r != BEST_PEER))
            {
                assert!(
                    role_of(group, row) != Role::Other,
                    "target {group}/{row} is not in benches/roles.csv"
                );
            }
            if *reference == BEST_PEER {
                assert!(
                    rows.iter().any(|(g, _, r)| g == group && *r == Role::Peer),
                    "{group} has no peer for its best-peer target"
                );
            }
        }
    }

    #[test]
    fn roles_csv_rejects_what_it_cannot_read() {
        assert!(parse_roles("g,r,peer\ng,r,native\n").is_err());
        assert!(parse_roles("g,r,fast\n").is_err());
        assert!(parse_roles("g,r\n").is_err());
        let rows = parse_roles("# a comment\ngroup,row,role\ng,a,native\ng,b,floor\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].2 == Role::Floor);
    }
}
