//! The first poll of an async wait ([`AsyncSpin`]): how long it spins before it registers.

use core::cell::Cell;
use std::time::Instant;

use super::placement::{current_cpu, record_park, woken_from_here};
use super::{SpinHistory, Wake, THREAD_WAITS};

/// How many wake-ups the calling thread has made (wrapping), and the thread (the address of
/// its `THREAD_WAITS`, zero while it is torn down): see [`AsyncSpin`].
fn thread_wakes() -> (u32, usize) {
    THREAD_WAITS
        .try_with(|cell| (cell.get().wakes, core::ptr::from_ref(cell) as usize))
        .unwrap_or((0, 0))
}

/// What the first poll of an async wait keeps between waits: the [`SpinHistory`] of its
/// spins, and whether its partner answers from the same thread or CPU.
///
/// After this thread woke a partner, the spin lasts through the thread's wake window (as a
/// blocking wait's does). A wait does not spin at all, not even the history's probes, while
/// the last wait of this registration that registered was answered by a partner on its own
/// thread: the thread made a wake-up between the registration and the answer (counted only
/// when the answer comes on the thread that registered: a multi-thread runtime may poll a
/// task on another worker, whose count says nothing about this one). On a
/// one-thread executor that is every wait (the partner task runs once the poll returns
/// `Pending`, and its activation wakes this task), and a spin could only delay it. The next
/// registered wait answered from another thread (a multi-thread runtime moved a task) lets
/// the spins resume.
///
/// Nor does it spin while its last registered wait was woken from the CPU it runs on (the
/// `placement` hints, as for a blocking wait): the partner is another thread on this CPU, which
/// runs only once this thread parks (beside busy processes, or pinned; on a 2-vCPU guest
/// pinned to one CPU the async round trip took 41 µs, tokio's `mpsc(1)` 4-5 µs). A
/// registration records where its thread waits and whether its partner shared the CPU last
/// time, so the activator that wakes it also skips its own next spin (`Wake::PartnerHere`).
/// An async wait never yields in a poll: it returns `Pending` and its executor parks.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AsyncSpin {
    pub(super) history: SpinHistory,
    /// The thread's wake-up count and the thread when this registration last registered.
    wakes_at_register: (u32, usize),
    /// The last registered wait was answered from this thread or this CPU.
    pub(super) partner_here: bool,
}

impl AsyncSpin {
    /// The first poll's spin: until `cond` holds (returns `true`) or the budget is spent.
    #[inline]
    pub(crate) fn spin(&mut self, cond: &mut impl FnMut() -> bool) -> bool {
        if cond() {
            return true;
        }
        if cfg!(stream_loom) {
            return false;
        }
        self.spin_slow(cond)
    }

    #[cold]
    fn spin_slow(&mut self, cond: &mut impl FnMut() -> bool) -> bool {
        if self.partner_here {
            return false;
        }
        let Ok(mut waits) = THREAD_WAITS.try_with(Cell::get) else {
            return self.history.spin_slow(cond, None);
        };
        let window = match waits.take_wake(current_cpu) {
            None => return self.history.spin_slow(cond, None),
            Some(Wake::Window(window)) => window,
            Some(Wake::PartnerHere) => {
                // The woken partner waits for this CPU (`ThreadWaits`).
                let _ = THREAD_WAITS.try_with(|cell| cell.set(waits));
                return false;
            }
        };
        let start = Instant::now();
        let spun = self.history.spin_at_least(cond, None, window);
        waits.learn_wake(start.elapsed(), spun);
        let _ = THREAD_WAITS.try_with(|cell| cell.set(waits));
        spun
    }

    /// Whether the last registered wait was answered from this thread or CPU (tests).
    #[cfg(all(test, target_os = "linux", not(miri), not(stream_loom)))]
    pub(crate) fn partner_here(&self) -> bool {
        self.partner_here
    }

    /// Records that the wait registered on `word` (its poll returns `Pending`): for the
    /// activator that wakes it, where its thread waits and whether the partner shared its CPU
    /// last time (as a blocking wait records its park).
    pub(crate) fn registered(&mut self, word: *const ()) {
        self.wakes_at_register = thread_wakes();
        if !cfg!(stream_loom) {
            record_park(word, self.partner_here);
        }
    }

    /// Records that a registered wait on `word` ended (its condition held on a later poll),
    /// `woken` if an activation took its registration (it woke the waiter) rather than the
    /// caller finding the condition true first: the partner is on this thread if the thread
    /// made a wake-up since it registered, on this CPU if that activation ran here. (An answer
    /// with no wake-up says nothing of where the partner runs, and the table's record of the
    /// word is then an older one.)
    pub(crate) fn answered(&mut self, word: *const (), woken: bool) {
        let (wakes, thread) = thread_wakes();
        let (wakes_then, thread_then) = self.wakes_at_register;
        self.partner_here =
            (thread == thread_then && wakes != wakes_then) || (woken && woken_from_here(word));
    }
}
