//! The disturbed round trip: any [`RoundTripRow`](crate::RoundTripRow) run one round trip at a
//! time while the partner stops for a while every so many hand-offs ([`Disturbed`]), and what
//! that does to the round trips after each stop ([`Disturbance`]).
//!
//! An adaptive waiter learns from its partner's pauses: after a stop it may park where it
//! used to spin, and take a while to spin again. The median shows the cost in the steady
//! state; the recovery shows how many hand-offs that learning costs after each stop.
//!
//! May touch: the partner thread of [`two_threads`](crate::two_threads) (which sleeps); the
//! clock on every round trip.

use std::time::{Duration, Instant};

use crate::round_trip::Drive;
use crate::two_threads;

/// Runs `iters` round trips and times each one; the partner sleeps `pause` before answering
/// every `every`-th ping (the 1st is answered at once, the `every`-th after the pause). The
/// output is the nanoseconds of each round trip, in order.
#[derive(Clone, Copy, Debug)]
pub struct Disturbed {
    /// Round trips.
    pub iters: u64,
    /// Hand-offs per stop of the partner.
    pub every: u64,
    /// How long the partner stops.
    pub pause: Duration,
}

impl Drive for Disturbed {
    type Output = Vec<u32>;

    fn drive(
        self,
        mut send_ping: impl FnMut(u64),
        mut recv_pong: impl FnMut() -> u64,
        mut recv_ping: impl FnMut() -> Option<u64> + Send,
        mut send_pong: impl FnMut(u64) + Send,
    ) -> Vec<u32> {
        let Disturbed {
            iters,
            every,
            pause,
        } = self;
        assert!(every > 0, "a stop every 0 hand-offs");
        let mut times = Vec::with_capacity(iters as usize);
        let (times, answered) = two_threads(
            move |gate| {
                gate.open();
                let mut last = Instant::now();
                for i in 0..iters {
                    send_ping(i);
                    assert_eq!(recv_pong(), i + 1);
                    let now = Instant::now();
                    times.push(u32::try_from((now - last).as_nanos()).unwrap_or(u32::MAX));
                    last = now;
                }
                drop(send_ping);
                times
            },
            move |gate| {
                gate.open();
                let mut answered = 0u64;
                while let Some(v) = recv_ping() {
                    answered += 1;
                    if answered % every == 0 {
                        std::thread::sleep(pause);
                    }
                    send_pong(v + 1);
                }
                answered
            },
        );
        assert_eq!(answered, iters);
        times
    }
}

/// What the stops of a [`Disturbed`] run did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Disturbance {
    /// Median round trip of the run, in nanoseconds, the stopped ones left out: the quiet
    /// median of this row under these stops.
    pub median_ns: f64,
    /// Median over the stops of the hand-offs after a stop until the round trips are back at
    /// the quiet median: the first `k` such that the median of the [`RECOVERY_WINDOW`] round
    /// trips from the `k`-th after the stop is at most 1.25 times `median_ns` (0: the first
    /// round trip after the stop is already quiet).
    pub recovery: f64,
    /// The slowest round trip that was not a stopped one, in nanoseconds.
    pub slowest_ns: f64,
}

/// Round trips whose median decides that a row is back to its quiet median ([`Disturbance`]).
pub const RECOVERY_WINDOW: usize = 8;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl Disturbance {
    /// Reads the round trips of a [`Disturbed`] run that stopped every `every` hand-offs: the
    /// `every`-th, `2 every`-th, ... round trip (index `every - 1`, ...) holds a stop.
    ///
    /// # Panics
    ///
    /// If `times` holds no round trip that is not a stop.
    pub fn of(times: &[u32], every: u64) -> Disturbance {
        let every = every as usize;
        let stopped = |i: usize| (i + 1) % every == 0;
        let mut quiet: Vec<f64> = (0..times.len())
            .filter(|&i| !stopped(i))
            .map(|i| f64::from(times[i]))
            .collect();
        assert!(!quiet.is_empty(), "no round trip between the stops");
        let slowest_ns = quiet.iter().copied().fold(0.0, f64::max);
        let median_ns = median(&mut quiet);
        let mut recoveries = Vec::new();
        for stop in (0..times.len()).filter(|&i| stopped(i)) {
            // The round trips up to the next stop, as far as a whole window fits.
            let after = &times[stop + 1..times.len().min(stop + every)];
            if after.len() < RECOVERY_WINDOW {
                continue;
            }
            let back = (0..=after.len() - RECOVERY_WINDOW).find(|&k| {
                let mut window: Vec<f64> = after[k..k + RECOVERY_WINDOW]
                    .iter()
                    .map(|&t| f64::from(t))
                    .collect();
                median(&mut window) <= 1.25 * median_ns
            });
            // Never back before the next stop: all of it.
            recoveries.push(back.unwrap_or(after.len()) as f64);
        }
        let recovery = if recoveries.is_empty() {
            f64::NAN
        } else {
            median(&mut recoveries)
        };
        Disturbance {
            median_ns,
            recovery,
            slowest_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NativeBackend, RoundTripRow};

    #[test]
    fn recovery_counts_the_slow_hand_offs_after_each_stop() {
        // Stops at index 19 and 39; after each, 3 slow round trips, then quiet ones.
        let mut times = vec![100u32; 60];
        for stop in [19, 39] {
            times[stop] = 1_000_000;
            for t in &mut times[stop + 1..stop + 4] {
                *t = 5_000;
            }
        }
        let d = Disturbance::of(&times, 20);
        assert_eq!(d.median_ns, 100.0);
        // The window from the first round trip after the stop has 3 slow of 8: its median is
        // quiet already.
        assert_eq!(d.recovery, 0.0);
        for stop in [19, 39] {
            for t in &mut times[stop + 1..stop + 7] {
                *t = 5_000;
            }
        }
        // Now 6 slow after each stop: the first quiet window starts 3 after the stop (3 of
        // its 8 are slow).
        assert_eq!(Disturbance::of(&times, 20).recovery, 3.0);
        assert_eq!(Disturbance::of(&times, 20).slowest_ns, 5_000.0);
    }

    #[test]
    fn a_disturbed_row_runs_and_stops() {
        let row = RoundTripRow::Native(NativeBackend::Futex);
        let times = row.run(Disturbed {
            iters: 200,
            every: 50,
            pause: Duration::from_millis(1),
        });
        assert_eq!(times.len(), 200);
        assert!(times[49] >= 1_000_000, "{}", times[49]);
        let d = Disturbance::of(&times, 50);
        assert!(d.median_ns < 1e6, "{d:?}");
    }
}
