//! The text of `cargo xtask bench --help`: every option of the command and what it does.

pub(crate) const BENCH_HELP: &str = "\
usage: cargo xtask bench [--full] [--filter <regex>] [--profile <list>] [--baseline <rev>]
       cargo xtask bench --load [N] [--full]

Opens with the machine: CPU model, CPUs, cpuidle driver and halt-poll window (where Linux shows
them), kernel, load average, and two measured floors, the median round trip of a futex
ping-pong and of a cache-line ping-pong (the interleaved example's `floors` group). Then runs
every criterion bench of the `benches` crate (events, stream, future, async, programs): every
backend of every crate, and small programs, beside the primitives users would otherwise pick,
in one run. Prints one table
(median per iteration, slowest sample, throughput, ratio to the best peer and to the floor of
the same group, the issue targets and whether they are met), writes it to
target/bench-report.md and target/bench-report.csv, and leaves criterion's HTML report in
target/criterion/report/. Without --filter it then runs the interleaved example (15 rounds,
40 with --full), whose median ratios (robust to a shared machine's swings) are a second table
of the report, with the targets they compare; their CSV is target/interleaved.csv. Targets
named `best peer` compare with the fastest peer of the group in this run (the round trips:
crossbeam, kanal, flume and std channels of capacity 1 and 0). A native row whose slowest
round (or criterion sample) takes more than 3 times its median is listed under SPREAD.

Options:
  (none)            quick profile, about 5 minutes on a 2-core machine: criterion's
                    --warm-up-time 0.2 --measurement-time 0.8 --sample-size 10
                    --nresamples 10000, and bulk transfers of
                    NATIVE_STREAM_BENCH_BYTES=16Mi bytes and NATIVE_STREAM_BENCH_ELEMS=2Mi
                    u64s per iteration
  --full            criterion's normal measurement times; bulk bytes at the issue's
                    reference size, 1Gi, and u64s at the bench default, 16Mi
  --filter <regex>  only the criterion rows whose id (group/row, e.g.
                    `stream_round_trip/futex`, `future/reader_waiting/oneshot`) matches, as
                    criterion's filter does; no interleaved table
  --profile <list>  the conditions that change waiting, comma-separated, each a section of
                    interleaved ratios with its targets (criterion runs under `quiet` only):
                      quiet           nothing else started on purpose (the default)
                      slow-wakeups    the guest halt-poll window at 0 (root, where
                                      /sys/module/haltpoll exists; else skipped, saying
                                      why); the old value is written back afterwards, also
                                      on error, panic and Ctrl-C
                      busy-processes  one busy process per CPU started for the run
                      busy-loops      one busy thread per CPU spinning through the run
                                      (both: the groups of two threads handing off,
                                      the async round trip, write_slice, program and
                                      tokio element groups included, 1 000 round trips
                                      a round, with context switches per transfer)
                      disturbed       the round-trip rows with the partner stopping 1 ms
                                      every 500 hand-offs: median round trip, and hand-offs
                                      until the round trips are back at it
                      all             all of these but slow-wakeups
                    Profiles but quiet run 5 rounds (15 with --full). Under busy-processes
                    and busy-loops the spin backend's targets are not judged (it never
                    parks, by design) and raw_spin does not run.
  --baseline <rev>  the past as a peer: checks <rev> out in a worktree under target/
                    (removed afterwards), builds today's benches crate against its libraries,
                    and runs the native rows of both in alternating rounds; a native row more
                    than 10 % worse than <rev> is a REGRESSION. Alone it runs only the machine
                    section and this comparison (add --profile quiet for the rest). Works for
                    revisions back to 496f15b; about 3 minutes plus the first build
  -h, --help        this text

NATIVE_STREAM_BENCH_BYTES and NATIVE_STREAM_BENCH_ELEMS, when set, override both profiles.
Rows run on a busy machine measure the machine: the report records the load average before
and after. A missed target, a spread or a regression is reported, not an error; the exit
status is non-zero only when a bench fails to run.";
