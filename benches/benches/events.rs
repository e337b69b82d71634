//! One activate → wake round trip between two threads, per event backend, beside the floors.
//!
//! Group `events_round_trip`; each iteration is one round trip: the timed thread publishes a
//! counter value and activates `ping`, the partner wakes, publishes the next value and
//! activates `pong` (see [`benches::ping_pong`]).
//!
//! * `spin`, `futex`, `listener`: [`stream_events::Event`] with that backend.
//! * `raw_spin`: both threads spin on one `AtomicU64` (the floor).
//! * `raw_futex`: one `AtomicU32`, `FUTEX_WAIT` at once, `FUTEX_WAKE` on every publish.
//! * `crossbeam_bounded1`, `kanal_bounded0`, ...: two channels of each channel peer of
//!   [`ROUND_TRIP_ROWS`] (the peers of `stream_round_trip`).
//!
//! Run: `cargo bench -p benches --bench events`.

use benches::{ping_pong, EventSignal, RawSpin, ROUND_TRIP_ROWS};
use criterion::Criterion;
use stream_events::{Futex, Listener, Spin};

fn events_round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("events_round_trip");
    group.bench_function("spin", |b| b.iter_custom(ping_pong::<EventSignal<Spin>>));
    group.bench_function("futex", |b| b.iter_custom(ping_pong::<EventSignal<Futex>>));
    group.bench_function("listener", |b| {
        b.iter_custom(ping_pong::<EventSignal<Listener>>)
    });
    group.bench_function("raw_spin", |b| b.iter_custom(ping_pong::<RawSpin>));
    #[cfg(target_os = "linux")]
    group.bench_function("raw_futex", |b| {
        b.iter_custom(ping_pong::<benches::RawFutex>)
    });
    for &row in ROUND_TRIP_ROWS.iter().filter(|row| !row.is_native()) {
        group.bench_function(row.name(), |b| b.iter_custom(|iters| row.time(iters)));
    }
    group.finish();
}

// `criterion_group!` makes an undocumented `pub fn`, which the workspace lints reject; this is
// what it and `criterion_main!` expand to.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    events_round_trip(&mut criterion);
    criterion.final_summary();
}
