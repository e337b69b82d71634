//! What the bench report knows: the rows of each group and their roles, the targets of the
//! issues and how each compares a row with its reference, and the one-copy ceilings.
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

/// The rows the report knows, in table order: (group, row, role). A group is criterion's
/// group, or `group/function` where criterion has a function and a value (`future`).
pub(crate) const BENCH_ROWS: &[(&str, &[(&str, Role)])] = {
    use Role::{Floor, Native, Peer};
    const NATIVE: [(&str, Role); 3] = [("spin", Native), ("futex", Native), ("listener", Native)];
    const FUTURE: &[(&str, Role)] = &[
        NATIVE[0],
        NATIVE[1],
        NATIVE[2],
        ("oneshot", Peer),
        ("tokio_oneshot", Peer),
        ("futures_oneshot", Peer),
    ];
    &[
        (
            "events_round_trip",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ROUND_TRIP_PEERS[0],
                ROUND_TRIP_PEERS[1],
                ROUND_TRIP_PEERS[2],
                ROUND_TRIP_PEERS[3],
                ROUND_TRIP_PEERS[4],
                ROUND_TRIP_PEERS[5],
                ROUND_TRIP_PEERS[6],
                ("raw_spin", Floor),
                ("raw_futex", Floor),
            ],
        ),
        (
            "stream_round_trip",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ROUND_TRIP_PEERS[0],
                ROUND_TRIP_PEERS[1],
                ROUND_TRIP_PEERS[2],
                ROUND_TRIP_PEERS[3],
                ROUND_TRIP_PEERS[4],
                ROUND_TRIP_PEERS[5],
                ROUND_TRIP_PEERS[6],
                ("raw_spin", Floor),
                // Both sides spin, never park: a floor of the spinning kind, not a channel
                // users would pick to wait on (so not a "best peer" of the targets).
                ("rtrb", Floor),
            ],
        ),
        (
            "stream_bulk_u8",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("futex_one_buffer", Native),
                ("crossbeam_recycled_copy", Peer),
                ("crossbeam_recycled", Peer),
                ("rtrb", Peer),
                ("memcpy", Floor),
            ],
        ),
        (
            "stream_bulk_u64",
            &[
                NATIVE[0],
                NATIVE[1],
                NATIVE[2],
                ("futex_one_buffer", Native),
                ("rtrb", Peer),
                ("crossbeam_bounded1024", Peer),
            ],
        ),
        ("future/create_send_recv", FUTURE),
        ("future/create_send_recv", &[("box", Floor)]),
        ("future/pipelined", FUTURE),
        (
            "future/pipelined",
            &[
                // First: the "ratio to floor" column compares with the first floor.
                ("box_112b", Floor),
                ("box_40b", Floor),
                ("queue_only", Floor),
            ],
        ),
        ("future/reader_waiting", FUTURE),
        ("future/reader_waiting", &[("raw_futex", Floor)]),
        ("async_round_trip", ASYNC_ROUND_TRIP),
        ("async_round_trip_tokio_rt", ASYNC_ROUND_TRIP),
        ("async_wake", &[("listener", Native), ("waker_slot", Peer)]),
        (
            "async_wake_parked",
            &[("listener", Native), ("waker_slot", Peer)],
        ),
        (
            "async_bulk_u8",
            &[
                ("async_io", Native),
                ("async_bufread", Native),
                ("blocking", Native),
            ],
        ),
        (
            "stream_write_slice",
            &[
                ("write_slice_aligned", Native),
                ("write_slice_vec", Native),
                ("crossbeam_bounded4", Peer),
                ("sync_channel4", Peer),
            ],
        ),
        (
            "program_serde_json",
            &[("native", Native), ("unix_stream", Peer)],
        ),
        (
            "program_lines",
            &[("native", Native), ("unix_stream", Peer)],
        ),
        (
            "program_send",
            &[
                ("native", Native),
                ("sync_channel1024", Peer),
                ("crossbeam_bounded1024", Peer),
            ],
        ),
        ("program_framed_current_thread", FRAMED),
        ("program_framed_multi_thread", FRAMED),
    ]
};

/// The rows of both framed program groups (one per tokio runtime).
const FRAMED: &[(&str, Role)] = &[("native", Role::Native), ("tokio_duplex64k", Role::Peer)];

/// The channel peers of the round-trip groups, as the `benches` crate's `ROUND_TRIP_ROWS`
/// names them: the blocking channels users would otherwise pick, at capacities 1 and 0.
const ROUND_TRIP_PEERS: [(&str, Role); 7] = [
    ("crossbeam_bounded1", Role::Peer),
    ("crossbeam_bounded0", Role::Peer),
    ("kanal_bounded1", Role::Peer),
    ("kanal_bounded0", Role::Peer),
    ("flume_bounded1", Role::Peer),
    ("std_sync_channel1", Role::Peer),
    ("std_sync_channel0", Role::Peer),
];

/// The role of `row` in `group`: as [`BENCH_ROWS`] says, the group's profile prefix
/// (`loaded/KIND/`, `disturbed/`) and suffix (`/csw`, `/recovery`) left out; `Other` if unknown.
pub(crate) fn role_of(group: &str, row: &str) -> Role {
    let mut base = group;
    if let Some(rest) = base.strip_prefix("loaded/") {
        base = rest.split_once('/').map_or(rest, |(_, g)| g);
    }
    base = base.strip_prefix("disturbed/").unwrap_or(base);
    for suffix in ["/csw", "/recovery"] {
        base = base.strip_suffix(suffix).unwrap_or(base);
    }
    BENCH_ROWS
        .iter()
        .filter(|(g, _)| *g == base)
        .flat_map(|(_, rows)| rows.iter())
        .find(|(r, _)| *r == row)
        .map_or(Role::Other, |(_, role)| *role)
}

/// The rows of both async round-trip groups (one per executor).
const ASYNC_ROUND_TRIP: &[(&str, Role)] = &[
    ("native", Role::Native),
    ("async_channel_bounded1", Role::Peer),
    ("tokio_mpsc1", Role::Peer),
];

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
    ]
};

/// The targets of the loaded profile (`cargo xtask bench --load`), for every kind of load
/// (`*`): (group pattern, rows, goal, reference row), within one run. The `Spin` backend has
/// none on a busy machine: it never parks, by design (it is for partners on their own cores).
pub(crate) const LOADED_TARGETS: &[(&str, &[&str], Goal, &str)] = {
    const PARKING: &[&str] = &["futex", "listener"];
    const WRITE_SLICE: &[&str] = &["write_slice_aligned", "write_slice_vec"];
    &[
        (
            "loaded/*/stream_bulk_u8",
            PARKING,
            Goal::ThroughputAtLeast(1.0),
            "crossbeam_bounded4",
        ),
        (
            "loaded/*/stream_bulk_u8",
            PARKING,
            Goal::ThroughputAtLeast(1.0),
            "sync_channel4",
        ),
        (
            "loaded/*/stream_bulk_u8/csw",
            PARKING,
            Goal::SwitchesAtMost(2.0),
            "crossbeam_bounded4",
        ),
        (
            "loaded/*/stream_bulk_u8/csw",
            PARKING,
            Goal::SwitchesAtMost(2.0),
            "sync_channel4",
        ),
        (
            "loaded/*/stream_bulk_u8",
            WRITE_SLICE,
            Goal::ThroughputAtLeast(1.0),
            "crossbeam_bounded4",
        ),
        (
            "loaded/*/stream_bulk_u8",
            WRITE_SLICE,
            Goal::ThroughputAtLeast(1.0),
            "sync_channel4",
        ),
        (
            "loaded/*/stream_round_trip",
            PARKING,
            Goal::TimeAtMost(1.0),
            BEST_PEER,
        ),
        (
            "loaded/*/async_current_thread",
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
