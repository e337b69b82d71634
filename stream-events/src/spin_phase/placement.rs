//! Where a parked waiter sleeps and who woke it: hints for waits whose partner shares their
//! CPU.
//!
//! A spin pays while the partner runs on another CPU. When the scheduler puts both threads of
//! a hand-off on one CPU (beside busy processes, in a one-CPU cgroup, by chance for a while)
//! the partner runs only once the waiter stops, so every microsecond of a spin is a
//! microsecond added to the answer. Measured on a 2-vCPU guest with both threads pinned to one
//! CPU (docs/shared-cpu.md): a round trip of 46 µs (the spins, then the switches), where
//! kanal, which yields, takes 3 µs.
//!
//! So the activator that wakes a parked waiter writes its own CPU into a small process-wide
//! table, in the slot of the event word's address, and the waiter reads it when its park
//! ends: woken from its own CPU, it knows that its partner shares the CPU (the partner ran
//! while it was parked, perhaps only because it parked), and its next waits yield instead of
//! spinning (`ThreadWaits`). A parking waiter writes its CPU there too, with whether its
//! previous park was shared; an activator that wakes a waiter parked on its own CPU after a
//! shared park yields at once instead of spinning through the wake window. Where the kernel
//! puts a woken thread is its choice, made after the park (a waiter that parked on this CPU
//! may wake on an idle one): so the activator's rule waits for the waiter to have seen a
//! shared park, not only to have parked here.
//!
//! The table is a hint, never a condition: a slot shared by two words, a thread moved by the
//! kernel, a read racing with a write only make one wait yield, spin or park when another
//! choice would have been faster. Both accesses are `Relaxed`, on the paths of a park or an
//! async registration and of the wake-ups that end them.

use core::sync::atomic::{AtomicU32, Ordering};

/// Slots of the table (a power of two).
const SLOTS: usize = 64;

/// A slot of the table: CPU numbers plus one, zero for "unknown".
struct Slot {
    /// The CPU of the last waiter that parked on a word of this slot, with [`SHARED`] set if
    /// its previous park was woken from its own CPU.
    parked: AtomicU32,
    /// The CPU of the last activator that woke a waiter parked on a word of this slot.
    woke_from: AtomicU32,
}

/// Flag of [`Slot::parked`].
const SHARED: u32 = 1 << 31;

impl Slot {
    const fn new() -> Self {
        Self {
            parked: AtomicU32::new(0),
            woke_from: AtomicU32::new(0),
        }
    }
}

static TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

fn slot(word: *const ()) -> &'static Slot {
    slot_in(&TABLE, word)
}

fn slot_in(table: &[Slot; SLOTS], word: *const ()) -> &Slot {
    // Event words are pointer-aligned and the two of one stream are adjacent (4 bytes apart on
    // 32-bit targets, 8 on 64-bit): drop the alignment bits and mix the rest (Fibonacci
    // hashing: the odd multiplier nearest 2^N / golden ratio) so that streams spread over
    // slots and the two words of a stream take two.
    #[cfg(target_pointer_width = "64")]
    const GOLDEN: usize = 0x9E37_79B9_7F4A_7C15;
    #[cfg(not(target_pointer_width = "64"))]
    const GOLDEN: usize = 0x9E37_79B9;
    let key =
        (word as usize >> core::mem::align_of::<usize>().trailing_zeros()).wrapping_mul(GOLDEN);
    &table[key >> (usize::BITS - SLOTS.trailing_zeros())]
}

/// The CPU the calling thread runs on, where the platform says it cheaply (Linux: `rseq` or
/// the vDSO behind `sched_getcpu`); `None` elsewhere, under Miri and in loom models.
#[inline]
pub(super) fn current_cpu() -> Option<u32> {
    #[cfg(all(target_os = "linux", not(miri), not(stream_loom)))]
    {
        // SAFETY: `sched_getcpu` takes no arguments and touches no memory of ours; it returns
        // -1 on error, which `try_from` turns into `None`.
        let cpu = unsafe { libc::sched_getcpu() };
        u32::try_from(cpu).ok()
    }
    #[cfg(not(all(target_os = "linux", not(miri), not(stream_loom))))]
    {
        None
    }
}

/// Records that the calling thread is about to park on `word`, and whether its previous park
/// was `shared` (nothing for a null `word`).
#[inline]
pub(super) fn record_park(word: *const (), shared: bool) {
    if word.is_null() {
        return;
    }
    if let Some(cpu) = current_cpu() {
        record_park_in(slot(word), cpu, shared);
    }
}

fn record_park_in(slot: &Slot, cpu: u32, shared: bool) {
    // The wake-up recorded before this park stays: the listener backend records its wake-ups
    // after the notification, so a waiter woken at once reads the previous one (a hint one
    // hand-off late, the same one on a stable placement); clearing it here made the listener's
    // waits on one CPU drop out of their yields.
    store(&slot.parked, Some(cpu | if shared { SHARED } else { 0 }));
}

/// Records that the calling thread is about to wake the waiters parked on `word` (call it
/// before the wake-up, so that a woken waiter reads this record), and returns the CPU of the
/// last waiter that parked on it (or on a word of the same slot) if that waiter's previous
/// park was shared.
#[inline]
pub(super) fn note_wake_of(word: *const ()) -> Option<u32> {
    note_wake_in(slot(word), current_cpu())
}

fn note_wake_in(slot: &Slot, cpu: Option<u32>) -> Option<u32> {
    if cpu.is_some() {
        store(&slot.woke_from, cpu);
    }
    load(&slot.parked)
        .filter(|parked| parked & SHARED != 0)
        .map(|parked| parked & !SHARED)
}

/// Whether the wake-up of the last waiter parked on `word` came from the calling thread's CPU
/// (`false` for a null `word`: no word, no hint).
#[inline]
pub(super) fn woken_from_here(word: *const ()) -> bool {
    if word.is_null() {
        return false;
    }
    woken_from_in(slot(word), current_cpu())
}

fn woken_from_in(slot: &Slot, cpu: Option<u32>) -> bool {
    let from = load(&slot.woke_from);
    from.is_some() && from == cpu
}

fn store(at: &AtomicU32, cpu: Option<u32>) {
    let value = cpu.map_or(0, |cpu| cpu.wrapping_add(1));
    // Written only when it changes: on a stable placement the slots stay shared in every
    // cache, where a store each wait would move their line between the CPUs of unrelated
    // streams.
    // ORDERING: Relaxed: a hint (module docs); the park and the wake-up synchronise through
    // the event word, not through this slot.
    if at.load(Ordering::Relaxed) != value {
        // ORDERING: Relaxed, as above.
        at.store(value, Ordering::Relaxed);
    }
}

fn load(at: &AtomicU32) -> Option<u32> {
    // ORDERING: Relaxed: a hint (module docs).
    at.load(Ordering::Relaxed).checked_sub(1)
}

#[cfg(all(test, not(stream_loom)))]
mod tests {
    use super::*;

    fn word_of(words: &[usize; 2], i: usize) -> *const () {
        (&words[i] as *const usize).cast::<()>()
    }

    /// The activator learns where a waiter parked only if the waiter's previous park was
    /// shared; the waiter learns that the activator ran on its CPU.
    #[test]
    fn parks_and_wake_ups_meet_in_the_slot_of_their_word() {
        let table = [const { Slot::new() }; SLOTS];
        let words = [0usize; 2];
        let slot = slot_in(&table, word_of(&words, 0));
        assert_eq!(note_wake_in(slot, Some(1)), None, "nobody parked yet");
        assert!(woken_from_in(slot, Some(1)));
        record_park_in(slot, 3, false);
        assert_eq!(note_wake_in(slot, Some(3)), None, "the park was not shared");
        assert!(woken_from_in(slot, Some(3)));
        assert!(!woken_from_in(slot, Some(2)));
        record_park_in(slot, 3, true);
        assert_eq!(note_wake_in(slot, Some(1)), Some(3));
        assert!(woken_from_in(slot, Some(1)));
        // Where the activator runs is not known: no record of it.
        record_park_in(slot, 0, true);
        assert_eq!(note_wake_in(slot, None), Some(0));
        assert!(!woken_from_in(slot, None));
        // The largest CPU number `sched_getcpu` could give keeps its flag.
        record_park_in(slot, (1 << 31) - 2, true);
        assert_eq!(note_wake_in(slot, None), Some((1 << 31) - 2));
    }

    #[test]
    fn the_two_words_of_a_stream_use_different_slots() {
        let table = [const { Slot::new() }; SLOTS];
        let words = [0usize; 2];
        assert!(!core::ptr::eq(
            slot_in(&table, word_of(&words, 0)),
            slot_in(&table, word_of(&words, 1))
        ));
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn linux_says_where_a_thread_runs() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu = current_cpu().expect("sched_getcpu answers on Linux");
        // The CPU numbers of an affinity mask may exceed its count; the machine's do not
        // exceed the configured CPUs, which `sysconf` reports.
        // SAFETY: `sysconf` reads a configuration value and touches no memory of ours.
        let configured = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
        assert!(u64::from(cpu) < configured.max(cpus as libc::c_long) as u64);
    }
}
