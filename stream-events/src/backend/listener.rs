//! The event-listener backend: spin briefly, then park on an `event_listener::Event`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Instant;

use event_listener::{listener, Event, EventListener, Listener as _};

use crate::spin_phase::{note_park, note_wake_parked, spin_adaptive_then, AsyncSpin};
use crate::sync::mutant;
use crate::{AsyncBackend, Backend};

/// Spins briefly, then parks on an [`event_listener::Event`]; the one backend that also wakes
/// [`Waker`](core::task::Waker)s, so it implements [`AsyncBackend`].
///
/// # The event word
///
/// The event word *is* the `Event`: event-listener 5 keeps one pointer in it, null until the
/// first listener or notification allocates the list it points to. That allocation happens at
/// most once per event; it is owned by the `Event` and freed by its `Drop` when the stream
/// header that holds the word is dropped. Blocking waits listen with a stack-allocated entry
/// (`listener!`), so a wait allocates nothing; an async registration is a boxed listener that
/// lives in the caller's [`Registration`] until it is woken or dropped. The first poll of an
/// async wait spins first, backing off when spins miss ([`Registration`] says how).
///
/// The list is behind the pointer, so C code that holds a stream made with this backend must
/// use the library's exported event functions; it cannot interpret the word.
///
/// Not available in loom models (cfg `stream_loom`): event-listener's own atomics and mutex are
/// not loom's, so loom could neither see nor schedule them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listener;

static_assertions::assert_eq_size!(Event, stream_abi::EventWord);
static_assertions::assert_eq_align!(Event, stream_abi::EventWord);

impl Backend for Listener {
    type Word = Event;
    const NAME: &'static str = "listener";

    #[inline]
    fn new_word() -> Event {
        Event::new()
    }

    #[inline]
    fn activate(word: &Event) {
        // event-listener issues a SeqCst fence before it looks for listeners, so a condition
        // change made before this call is seen by any listener registered before the fence;
        // with no listener registered it returns without a syscall.
        if word.notify(usize::MAX) > 0 {
            // After the notification (only its count says whether anybody listened): a waiter
            // that runs before this note reads the previous one, a hint one hand-off late.
            note_wake_parked(core::ptr::from_ref(word).cast());
        }
    }

    #[inline]
    fn wait(word: &Event, cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        spin_adaptive_then(
            core::ptr::from_ref(word).cast(),
            cond,
            deadline,
            |cond, deadline| park_until(word, cond, deadline),
        )
    }
}

#[cold]
fn park_until(word: &Event, mut cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
    loop {
        // Register first, then check: a notification after the registration is not lost.
        listener!(word => listener);
        if !mutant("listener-recheck") && cond() {
            return true;
        }
        // Where this thread sleeps: a hint for the activator that wakes it.
        note_park(core::ptr::from_ref(word).cast());
        match deadline {
            None => listener.wait(),
            Some(d) => {
                if listener.wait_deadline(d).is_none() {
                    return cond();
                }
            }
        }
        // Woken (possibly by an activation meant for another condition): check again.
    }
}

impl AsyncBackend for Listener {
    type Registration = Registration;

    fn poll_wait(
        word: &Event,
        registration: &mut Registration,
        mut cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        // An entry left by an earlier wait that an activation answered (its caller then
        // found the condition true without polling here): that wait is over, and this is the
        // first poll of a new one.
        if let Some(listener) = &mut registration.listener {
            if Pin::new(listener).poll(cx).is_ready() {
                // When that answer came, and from which thread, is not known here: the spin
                // history learns nothing.
                registration.listener = None;
            }
        }
        // The first poll of a wait spins first, as a blocking wait does, for as long as this
        // registration's recent spins say (see `Registration`).
        if registration.listener.is_none() && registration.spin.spin(&mut cond) {
            return Poll::Ready(());
        }
        loop {
            if cond() {
                if let Some(mut listener) = registration.listener.take() {
                    // Notified: an activation woke this wait (it says where it ran).
                    let woken = Pin::new(&mut listener).poll(cx).is_ready();
                    registration
                        .spin
                        .answered(core::ptr::from_ref(word).cast(), woken);
                }
                return Poll::Ready(());
            }
            match &mut registration.listener {
                None => {
                    registration.listener = Some(word.listen());
                    registration
                        .spin
                        .registered(core::ptr::from_ref(word).cast());
                }
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Ready(()) => {
                        registration.listener = None;
                        registration
                            .spin
                            .answered(core::ptr::from_ref(word).cast(), true);
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    #[inline]
    fn end_wait(word: &Event, registration: &mut Registration) {
        // Dropping an entry that was notified passes the notification on to another entry,
        // if any: at worst a spurious wake-up.
        if registration.listener.take().is_some() {
            // Whether an activation woke it is not asked here (that takes a poll, and so a
            // waker): the answer teaches where the partner runs only through this thread's
            // wake-ups.
            registration
                .spin
                .answered(core::ptr::from_ref(word).cast(), false);
        }
    }
}

impl Registration {
    /// Whether an event-listener entry is registered (the last poll returned `Pending`).
    pub fn is_registered(&self) -> bool {
        self.listener.is_some()
    }
}

/// What an async wait of the [`Listener`] backend keeps between polls: its event-listener
/// entry while it is registered, and how its spins went.
///
/// The first poll of a wait spins before it registers, so that a partner on another thread
/// that answers within microseconds is caught without a wake-up, for as long as the
/// [`SpinHistory`](crate::SpinHistory) of this registration says: a spin that sees nothing is
/// wasted time of the executor thread (always, when the partner runs on the same thread), so
/// after a few misses in a row a wait registers at once, with one short probe every 32 waits.
/// Right after its thread woke a partner, the spin lasts through the thread's wake window
/// (crate docs), unless this registration's last registered wait was answered from its own
/// thread (the thread made a wake-up between the registration and the answer: the partner is
/// a task of the same one-thread executor, which runs only once this poll returns). Keep one
/// registration per event and per waiting operation (a stream's reader keeps one for *read
/// ready*, its writer one for *write ready*): its entry listens to the event it was made for.
#[derive(Debug, Default)]
pub struct Registration {
    listener: Option<EventListener>,
    spin: AsyncSpin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    use std::time::Duration;

    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    /// An async wait that misses its spins registers at once after a few of them: on a
    /// one-thread executor the partner cannot answer during a poll.
    #[test]
    fn async_spins_stop_after_misses() {
        let word = Listener::new_word();
        let waker = Waker::from(Arc::new(NoWake));
        let mut cx = Context::from_waker(&waker);
        let mut reg = Registration::default();
        // Counts the condition's checks per wait: a wait that registers at once checks it
        // three times (before the spin phase, before and after listening).
        let mut checks = Vec::new();
        for _ in 0..40 {
            let mut calls = 0u32;
            let poll = Listener::poll_wait(
                &word,
                &mut reg,
                || {
                    calls += 1;
                    false
                },
                &mut cx,
            );
            assert!(poll.is_pending());
            assert!(reg.is_registered());
            checks.push(calls);
            // The partner acts: the wait ends.
            assert!(Listener::poll_wait(&word, &mut reg, || true, &mut cx).is_ready());
            assert!(!reg.is_registered());
        }
        let spun = checks.iter().filter(|&&c| c > 3).count();
        // Six spins of shrinking budget, then one probe in 32 waits.
        assert_eq!(spun, 7, "{checks:?}");
        assert!(checks[6..].iter().filter(|&&c| c > 3).count() == 1);
    }

    /// The "check again" step: a change made after the caller's last check but before the
    /// listener was registered (simulated by the first call of `cond`, which changes the
    /// condition and activates, as the other side would) is not slept through.
    #[test]
    fn park_rechecks_after_registering() {
        let word = Listener::new_word();
        let mut changed = false;
        let cond = || {
            if changed {
                return true;
            }
            changed = true;
            Listener::activate(&word);
            false
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(park_until(&word, cond, Some(deadline)));
        assert!(Instant::now() < deadline, "slept through the change");
    }
}
