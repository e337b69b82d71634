//! The futex backend: spin briefly, then park on the event word; async polls register their
//! waker in a table keyed by the word's address.
//!
//! # Protocol
//!
//! The backend keeps a 32-bit *epoch* in the low-addressed half of the event word: bit 0 is the
//! `WAITERS` flag (a thread is, or is about to be, asleep on the word), bit 1 the `WAKERS` flag
//! (an async poll has a waker registered in the table of `wakers.rs`), the other bits count
//! activations.
//!
//! * `activate`: one read-modify-write bumps the epoch and clears both flags; only if the
//!   previous value had `WAITERS` set does it make the wake syscall, and only if it had
//!   `WAKERS` set does it take the word's entries out of the waker table and wake them (and note, in a
//!   thread-local, that this thread's next wait follows a wake-up). An activate with nobody
//!   parked is one uncontended compare-and-swap and no syscall.
//! * `wait`: spin for up to [`SPIN_BUDGET`](crate::SPIN_BUDGET), as the thread's recent spins
//!   say ([`SpinHistory`](crate::SpinHistory)), or through the wake window after this thread
//!   woke a partner (crate docs), re-checking the condition; then loop:
//!   `fetch_or(WAITERS)` (which returns the epoch `e` to sleep on), check the condition again,
//!   and sleep with `futex_wait(word, e | WAITERS)`. A `SeqCst` fence follows the `fetch_or`
//!   (for the next point; it also gives the `fetch_or` its Acquire).
//! * `poll_wait` (async): after the first poll's spin, register the waker in the table (under
//!   the bucket lock), `fetch_or(WAKERS)`, a `SeqCst` fence, check the condition again; return
//!   `Pending` if it still does not hold. The exclusion with `activate` is the one below for a
//!   sleep, with `WAKERS` for `WAITERS` and the table entry for the sleep: an activation whose
//!   RMW reads from the `fetch_or` takes the bucket lock after it, and finds the entry (had its
//!   lock come before the registration's, its RMW would happen before the `fetch_or`). A
//!   registration removes its entry when its wait ends and when it is dropped.
//! * `activate_after_seqcst` (for a condition changed by a `SeqCst` write): a `SeqCst` load
//!   of the word; only if a flag is set does it go on as `activate`. With nobody parked it
//!   writes nothing, so the activator does not take the cache line of the word (which shares
//!   a line with the stream state) away from a partner spinning on it.
//!
//! No wake-up is lost: both sides make read-modify-writes of the one epoch word, which are
//! totally ordered. If the activator's `fetch_add` comes first, the waiter's `fetch_or` reads
//! from it, so the condition change made before the `fetch_add` is visible to the waiter's
//! second check. If the waiter's `fetch_or` comes first, the activator sees `WAITERS` and
//! wakes; a waiter that has not yet gone to sleep then finds the word changed and the kernel
//! returns at once. Wake-ups may be spurious (another activation, a signal): every return from
//! the sleep re-checks the condition.
//!
//! The fast path of `activate_after_seqcst` writes nothing, so it relies on the `SeqCst` total
//! order S instead. Suppose its load L missed `WAITERS` and the waiter's check missed the
//! change C (a `SeqCst` write sequenced before L). L reads a value older than the waiter's
//! `fetch_or` (it is not an older value that a later RMW cleared `WAITERS` from: `activate`
//! clears the flag only in the RMW that also changes the epoch, so a waiter whose
//! announcement it absorbed finds its futex word changed and announces again), which happens
//! before the waiter's fence F, so L precedes F in S (C++20
//! \[atomics.order\] p4.2). The check, which F happens before, reads a value older than C,
//! so F precedes C in S (p4.3). And C precedes L (sequenced, both `SeqCst`): a cycle in S, so
//! the two misses cannot both happen. (Loom treats `SeqCst` accesses as `AcqRel` but models
//! fences; in loom builds the fast path issues a `SeqCst` fence before L, which gives the model
//! the same exclusion. Without the waiter's fence, loom finds the lost wake-up: the mutant
//! `futex-park-fence` fails seven models. An earlier `activate` bumped the epoch and cleared
//! the flag in two RMWs; with two waiters, loom found a waiter's announcement lost between
//! them at 5 preemptions (model `two_waiters_after_seqcst`).)
//!
//! The argument covers conditions that read the location C wrote: for a stream, the state
//! word, which every readiness predicate reads.
//!
//! # Platforms
//!
//! On Linux the sleep is the `futex(2)` syscall (`FUTEX_WAIT_PRIVATE`/`FUTEX_WAKE_PRIVATE`,
//! through `libc`). Elsewhere, and in loom models, it is an emulation with the same contract:
//! a mutex and condition variable per bucket of addresses, where the waiter compares the
//! word under the lock and the waker takes the lock before notifying.

#[cfg(all(target_os = "linux", not(stream_loom)))]
#[path = "linux.rs"]
mod sys;

#[cfg(any(not(target_os = "linux"), stream_loom))]
#[path = "emulated.rs"]
mod sys;

mod wakers;

use core::task::{Context, Poll};
use std::time::Instant;

use crate::spin_phase::{note_park, note_wake_parked, spin_adaptive_then, AsyncSpin};
use crate::sync::{fence, mutant, ord, AtomicU32, Ordering};
use crate::{AsyncBackend, Backend};

pub(crate) use sys::FutexWord;

/// Flag in the epoch: somebody is (about to be) asleep on the word.
const WAITERS: u32 = 1;
/// Flag in the epoch: an async poll has (or is about to have) a waker registered for the word.
const WAKERS: u32 = 2;
/// Both flags.
const FLAGS: u32 = WAITERS | WAKERS;
/// Amount an activation adds to the epoch (it skips the flag bits).
const EPOCH_ONE: u32 = 4;

/// Spins briefly, then parks on the futex of the event word (Linux; an emulation with a
/// condition variable elsewhere); async polls register their [`Waker`](core::task::Waker) in
/// a process-wide table keyed by the word's address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Futex;

impl Backend for Futex {
    type Word = FutexWord;
    const NAME: &'static str = "futex";

    #[inline]
    fn new_word() -> FutexWord {
        FutexWord::new()
    }

    #[inline]
    fn activate(word: &FutexWord) {
        // One RMW bumps the epoch and clears WAITERS (module docs: clearing it in a second
        // RMW would let a waiter's announcement fall in between and be lost to the fast path).
        // ORDERING: AcqRel. Release: the caller's condition change (sequenced before) becomes
        // visible to a waiter whose `fetch_or` reads from this RMW. Acquire: none needed for
        // the RMW itself, but it keeps the chain symmetrical with `wait`'s `fetch_or`.
        let prev = epoch(word)
            .fetch_update(
                ord("futex-activate-acqrel", Ordering::AcqRel),
                Ordering::Relaxed,
                |e| Some(e.wrapping_add(EPOCH_ONE) & !(WAITERS | WAKERS)),
            )
            .unwrap_or_else(|e| e);
        if prev & FLAGS != 0 {
            wake(word, prev);
        }
    }

    #[inline]
    fn activate_after_seqcst(word: &FutexWord) {
        // Loom treats `SeqCst` accesses as `AcqRel`; the fence gives the model the exclusion
        // that the `SeqCst` load has in the real build (module docs).
        if cfg!(stream_loom) {
            // ORDERING: SeqCst fence, loom builds only (above).
            fence(Ordering::SeqCst);
        }
        // ORDERING: SeqCst: with the caller's `SeqCst` change before it, and the parking
        // waiter's `SeqCst` `fetch_or` and fence, either this load sees `WAITERS` or the
        // waiter's check sees the change (module docs).
        if epoch(word).load(Ordering::SeqCst) & (WAITERS | WAKERS) == 0 {
            return;
        }
        Self::activate(word);
    }

    #[inline]
    fn wait(word: &FutexWord, cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        spin_adaptive_then(
            core::ptr::from_ref(word).cast(),
            cond,
            deadline,
            |cond, deadline| park_until(word, cond, deadline),
        )
    }
}

/// The rest of an `activate` that found somebody waiting (`prev`: the epoch before it): wakes
/// the sleepers, then the registered wakers. Out of line: the inlined `activate` stays one RMW
/// and a test of the flags (docs/shared-cpu.md, 2026-12-07).
#[cold]
#[inline(never)]
fn wake(word: &FutexWord, prev: u32) {
    if prev & WAITERS != 0 {
        sys::wake_all(word);
    }
    let woke_wakers = prev & WAKERS != 0 && wakers::wake_all(word);
    if prev & WAITERS != 0 || woke_wakers {
        // One note for both kinds: registrations record where they wait, as parks do
        // (`AsyncSpin::registered`). After the wake-ups: a waiter that runs before this note
        // reads the previous one, a hint one hand-off late (measured so; the order is free:
        // the note is a hint only).
        note_wake_parked(core::ptr::from_ref(word).cast());
    }
}

#[inline]
fn epoch(word: &FutexWord) -> &AtomicU32 {
    &word.futex
}

#[cold]
fn park_until(word: &FutexWord, mut cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // Do not announce a sleep that will not happen (it would cost the next
            // activation a syscall).
            return cond();
        }
        // The SeqCst fence right after this RMW does both of its ordering jobs. It acquires:
        // if the RMW reads from (or after) `activate`'s AcqRel `fetch_add`, the fence
        // synchronises with that add, so the condition change before it is visible to the
        // check below. And it orders this announcement before the check in S, against
        // `activate_after_seqcst`'s `SeqCst` change and load (module docs).
        // ORDERING: Relaxed, as the fence does the rest (weakening it changed no loom model).
        let seen = epoch(word).fetch_or(WAITERS, Ordering::Relaxed) | WAITERS;
        if !mutant("futex-park-fence") {
            // ORDERING: SeqCst fence, as said above.
            fence(Ordering::SeqCst);
        }
        // The "check again" step: without it, a change made between the spin's last check
        // and the `fetch_or` would be slept through.
        if !mutant("futex-recheck") && cond() {
            return true;
        }
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return cond();
                }
                Some(d - now)
            }
        };
        // Where this thread sleeps: a hint for the activator that wakes it.
        note_park(core::ptr::from_ref(word).cast());
        // Returns on a wake, a changed word, a timeout, a signal or spuriously: the loop
        // re-checks the condition in every case.
        sys::wait(word, seen, timeout);
    }
}

impl AsyncBackend for Futex {
    type Registration = Registration;

    fn poll_wait(
        word: &FutexWord,
        registration: &mut Registration,
        mut cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        // An entry left by an earlier wait that an activation answered (its caller then
        // found the condition true without polling here): that wait is over, and this is the
        // first poll of a new one.
        // ORDERING: Relaxed, as in `Registration::end`: coherence alone says a newer epoch
        // follows the announcement; the new wait checks its condition after its own.
        if registration.id.is_some()
            && epoch(word).load(Ordering::Relaxed) & !FLAGS != registration.epoch
        {
            // The activation takes the entry (as in `Registration::end`). When the earlier
            // wait's answer came, and from which thread, is not known here: the spin history
            // learns nothing.
            registration.id = None;
        }
        // The first poll of a wait spins first, as a blocking wait does, for as long as this
        // registration's recent spins say.
        if registration.id.is_none() && registration.spin.spin(&mut cond) {
            return Poll::Ready(());
        }
        if cond() {
            registration.end(word);
            return Poll::Ready(());
        }
        let addr = wakers::addr(word);
        registration.addr = addr;
        registration.id = Some(wakers::register(addr, registration.id, cx.waker()));
        registration
            .spin
            .registered(core::ptr::from_ref(word).cast());
        // Announce the waker, then check again (as `park_until` does for a sleep). An
        // `activate` whose RMW reads from (or after) this one finds the entry registered
        // above: it takes the bucket lock after its RMW, and had that lock come before this
        // registration's, its RMW would happen before this one and could not read from it.
        // The SeqCst fence gives the check below the change made before such an `activate`
        // (and excludes the fast path of `activate_after_seqcst` missing both, as for a
        // sleep; module docs).
        // ORDERING: Relaxed, as the lock order and the fence do the rest (as in `park_until`;
        // loom: a Release here changes no model).
        registration.epoch = epoch(word).fetch_or(WAKERS, Ordering::Relaxed) & !FLAGS;
        if !mutant("futex-wakers-fence") {
            // ORDERING: SeqCst fence, as said above.
            fence(Ordering::SeqCst);
        }
        if !mutant("futex-wakers-recheck") && cond() {
            registration.end(word);
            return Poll::Ready(());
        }
        Poll::Pending
    }

    #[inline]
    fn end_wait(word: &FutexWord, registration: &mut Registration) {
        if registration.id.is_some() {
            registration.end(word);
        }
    }
}

/// What an async wait of the [`Futex`] backend keeps between polls: its entry in the waker
/// table while it is registered, and how its spins went (as the `Listener` backend's
/// registration does: see the crate docs). Dropping it removes the entry.
#[derive(Debug, Default)]
pub struct Registration {
    /// The id of its entry, while it may be in the table.
    id: Option<u64>,
    /// The address of the word it registered on.
    addr: usize,
    /// The word's epoch (without flags) when it announced its waker.
    epoch: u32,
    spin: AsyncSpin,
}

impl Registration {
    /// Whether a waker is registered (the last poll returned `Pending`).
    pub fn is_registered(&self) -> bool {
        self.id.is_some()
    }

    /// The wait ended: removes the entry unless an activation has taken it or will.
    fn end(&mut self, word: &FutexWord) {
        if let Some(id) = self.id.take() {
            // An epoch newer than the one the announcement read comes from an activation
            // whose RMW followed the announcement in the word's modification order: that RMW
            // read `WAKERS` (the first one after the announcement does) and its activation
            // takes every entry of the word, this one with it. So the entry needs no lock
            // here; at worst the activation wakes this task once more.
            // ORDERING: Relaxed: coherence alone says a newer value follows the announcement.
            let woken = epoch(word).load(Ordering::Relaxed) & !FLAGS != self.epoch;
            if !woken {
                wakers::unregister(self.addr, id);
            }
            self.spin.answered(core::ptr::from_ref(word).cast(), woken);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Takes only the bucket lock, which nobody holds while waiting for anything.
        if let Some(id) = self.id.take() {
            wakers::unregister(self.addr, id);
        }
    }
}

#[cfg(all(test, not(stream_loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The "check again" step: a change made after the caller's last check but before the
    /// waiter announced itself (simulated by the first call of `cond`, which changes the
    /// condition and activates, as the other side would) is not slept through.
    #[test]
    fn park_rechecks_after_announcing() {
        let word = Futex::new_word();
        let mut changed = false;
        let cond = || {
            if changed {
                return true;
            }
            changed = true;
            Futex::activate(&word);
            false
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(park_until(&word, cond, Some(deadline)));
        assert!(Instant::now() < deadline, "slept through the change");
    }
    /// Two threads on one CPU hand off through async waits (Linux): a registered wait is
    /// woken from its own CPU, so its registration stops spinning first (`AsyncSpin`). The
    /// activator's record of its CPU and the answer's reading of it must work for most waits
    /// to show it (a hint slot written by another test could make a few do so).
    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn async_waits_on_one_cpu_stop_spinning() {
        use std::sync::atomic::AtomicU64;
        use std::sync::Arc;
        use std::task::{Wake, Waker};

        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }

        let cpu = crate::spin_phase::cpu_now().expect("sched_getcpu answers on Linux") as usize;
        let words = Arc::new([Futex::new_word(), Futex::new_word()]);
        let turn = Arc::new(AtomicU64::new(0));
        const TRIPS: u64 = 500;
        let (here, there) = crate::spin_phase::on_two_threads(move |me: u64| {
            crate::spin_phase::pin_to(cpu);
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            let mut registration = Registration::default();
            let mut shared = 0;
            for i in 0..TRIPS {
                let mine = 2 * i + me;
                // ORDERING: Acquire, pairs with the partner's Release store below.
                let mut cond = || turn.load(Ordering::Acquire) == mine;
                // As the streams wait: check, end the wait if it holds, else poll.
                loop {
                    if cond() {
                        Futex::end_wait(&words[me as usize], &mut registration);
                        break;
                    }
                    let word = &words[me as usize];
                    if Futex::poll_wait(word, &mut registration, &mut cond, &mut cx).is_ready() {
                        break;
                    }
                    std::thread::park();
                }
                shared += u32::from(registration.spin.partner_here());
                // ORDERING: Release: the turn is handed over (nothing else to publish).
                turn.store(mine + 1, Ordering::Release);
                Futex::activate(&words[1 - me as usize]);
            }
            shared
        });
        assert!(
            here + there > TRIPS as u32,
            "{} of {} async waits found their partner on their CPU",
            here + there,
            2 * TRIPS
        );
    }
}
