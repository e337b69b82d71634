//! The mutants (their ids and what each changes) and the suites that run them: the loom
//! models for every mutant, and under Miri only the tests of the code a mutant changes.
//!
//! May touch: nothing (tables and pure functions).

/// The mutants: (id, what it changes). Each id is named at its site in the source.
pub(crate) const MUTANTS: &[(&str, &str)] = &[
    (
        "state-load-acquire",
        "stream-core: every Acquire load of `state` (waiters, polls) -> Relaxed",
    ),
    (
        "acquire-reader-acquire",
        "stream-core: CAS taking READER_BUSY, Acquire -> Relaxed",
    ),
    (
        "lend-release",
        "stream-core: IDLE -> LENT publishing the buffer, SeqCst -> Relaxed",
    ),
    (
        "reclaim-acquire",
        "stream-core: LENT -> IDLE reclaim CAS, Acquire -> Relaxed",
    ),
    (
        "reclaim-release",
        "stream-core: READER_BUSY release after a reclaim, SeqCst -> Relaxed",
    ),
    (
        "take-count-release",
        "stream-core: DONE -> IDLE after taking the count, SeqCst -> Relaxed",
    ),
    (
        "close-read-release",
        "stream-core: setting READER_CLOSED, SeqCst -> Relaxed",
    ),
    (
        "start-writing-acquire",
        "stream-core: LENT -> WRITING in `start_writing`, Acquire -> Relaxed",
    ),
    (
        "acquire-writer-acquire",
        "stream-core: CAS taking WRITER_BUSY (or the buffer), Acquire -> Relaxed",
    ),
    (
        "wait-take-acquire",
        "stream-core: LENT -> WRITING after a wait, Acquire -> Relaxed",
    ),
    (
        "deliver-release",
        "stream-core: future delivery (reserved LENT -> DONE, claimed WRITING -> DONE), SeqCst -> Relaxed",
    ),
    (
        "commit-release",
        "stream-core: WRITING -> DONE commit, SeqCst -> Relaxed",
    ),
    (
        "return-release",
        "stream-core: WRITING -> LENT returned loan, SeqCst -> Relaxed",
    ),
    (
        "open-lend-release",
        "stream-core: IDLE -> LENT | OPEN lending a ring open, SeqCst -> Relaxed",
    ),
    (
        "open-readable-acquire",
        "stream-core: the open reader's load of the writer's position, Acquire -> Relaxed",
    ),
    (
        "open-consume-release",
        "stream-core: the open reader's store of its position, SeqCst -> Relaxed",
    ),
    (
        "open-region-acquire",
        "stream-core: the writer's load of the open reader's position before it hands out free slots, Acquire -> Relaxed",
    ),
    (
        "open-publish-release",
        "stream-core: the writer's store of its position publishing elements, Release -> Relaxed",
    ),
    (
        "open-commit-release",
        "stream-core: WRITING -> LENT giving the open ring back, SeqCst -> Relaxed",
    ),
    (
        "open-end-acquire",
        "stream-core: LENT | OPEN -> IDLE ending an open lend, Acquire -> Relaxed",
    ),
    (
        "open-end-release",
        "stream-core: READER_BUSY release after ending an open lend, SeqCst -> Relaxed",
    ),
    (
        "open-orphan-release",
        "stream-core: a dropped reader's WRITING -> WRITING | READ_ORPHANED of an open lend, Release -> Relaxed",
    ),
    (
        "open-orphan-end-release",
        "stream-core: the writer ends an orphaned open lend (-> IDLE), SeqCst -> Relaxed",
    ),
    (
        "close-write-release",
        "stream-core: setting WRITER_CLOSED, SeqCst -> Relaxed",
    ),
    (
        "release-count-release",
        "stream-core: handle release that leaves others, Release -> Relaxed",
    ),
    (
        "release-count-acquire",
        "stream-core: the last-handle check's read of the count, Acquire -> Relaxed",
    ),
    (
        "release-count-acqrel",
        "stream-core: handle release fetch_sub, AcqRel -> Relaxed",
    ),
    (
        "futex-activate-acqrel",
        "stream-events: futex activate fetch_add, AcqRel -> Relaxed",
    ),
    (
        "futex-park-fence",
        "stream-events: futex park without the SeqCst fence after announcing",
    ),
    (
        "futex-recheck",
        "stream-events: futex park without re-checking the condition",
    ),
    (
        "futex-wakers-fence",
        "stream-events: futex async poll without the SeqCst fence after announcing its waker",
    ),
    (
        "futex-wakers-recheck",
        "stream-events: futex async poll without re-checking the condition",
    ),
    (
        "futex-compare",
        "stream-events: futex (emulated) sleep without comparing the word",
    ),
    (
        "listener-recheck",
        "stream-events: listener park without re-checking the condition",
    ),
];

/// Loom suites run per mutant: (crate, test).
pub(crate) const MUTANT_LOOM: &[(&str, &str)] = &[
    ("stream-events", "loom"),
    ("stream-core", "loom"),
    ("stream-core", "loom_open"),
    ("stream-future", "loom"),
];

/// The loom suites run for `id`: every one of [`MUTANT_LOOM`], but for the open lend's
/// mutants (`open-*`) only `loom_open`, the models of the only code they change (the other
/// suites never open a lend, and take most of the time: 20-40 minutes a mutant on 2 cores).
pub(crate) fn mutant_loom_suites(id: &str) -> &'static [(&'static str, &'static str)] {
    if id.starts_with("open-") {
        &MUTANT_LOOM[2..3]
    } else {
        MUTANT_LOOM
    }
}

/// The Miri suites run for `id`: the tests of the code the mutant changes.
pub(crate) fn mutant_miri_suites(id: &str) -> &'static [&'static [&'static str]] {
    const EVENTS: &[&[&str]] = &[
        &["-p", "stream-events", "--test", "suite"],
        &["-p", "stream-core", "--test", "matrix"],
    ];
    const CORE: &[&[&str]] = &[
        &["-p", "stream-core", "--test", "matrix"],
        &["-p", "stream-core", "--test", "behaviour"],
    ];
    const FUTURE: &[&[&str]] = &[&["-p", "stream-future", "--test", "future"]];
    // A reader's drop handing its open lend over, and the writer ending it: `orphan`'s tests
    // are sequential, `behaviour`'s drop readers while writers write.
    const ORPHAN: &[&[&str]] = &[
        &["-p", "stream-core", "--test", "orphan"],
        &["-p", "stream-core", "--test", "behaviour"],
    ];
    // The emulated futex is built for loom and for targets without futex(2): Miri interprets
    // a macOS build of the suite (it needs no macOS machine, only that target's sysroot).
    const EMULATED: &[&[&str]] = &[&[
        "-p",
        "stream-events",
        "--test",
        "suite",
        "--target",
        "x86_64-apple-darwin",
    ]];
    match id {
        "futex-compare" => EMULATED,
        "deliver-release" => FUTURE,
        "open-orphan-release" | "open-orphan-end-release" => ORPHAN,
        _ if id.starts_with("futex-") || id.starts_with("listener-") => EVENTS,
        _ => CORE,
    }
}

/// Every suite some mutant runs under Miri, once each (the baseline runs these).
pub(crate) fn all_mutant_miri_suites() -> Vec<&'static [&'static str]> {
    let mut all: Vec<&[&str]> = Vec::new();
    for (id, _) in MUTANTS {
        for suite in mutant_miri_suites(id) {
            if !all.contains(suite) {
                all.push(suite);
            }
        }
    }
    all
}

/// A test suite's label: `crate::test`, and the target when it is not the host.
pub(crate) fn suite_label(suite: &[&str]) -> String {
    match suite.iter().position(|a| *a == "--target") {
        Some(i) => format!("{}::{} [{}]", suite[1], suite[3], suite[i + 1]),
        None => format!("{}::{}", suite[1], suite[3]),
    }
}
