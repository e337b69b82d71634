//! The event-listener backend: spin briefly, then park on an `event_listener::Event`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Instant;

use event_listener::{listener, Event, EventListener, Listener as _};

use crate::spin_phase::spin_until;
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
        word.notify(usize::MAX);
    }

    #[inline]
    fn wait(word: &Event, mut cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool {
        if spin_until(&mut cond, deadline) {
            return true;
        }
        park_until(word, cond, deadline)
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
        // The first poll of a wait spins first, as a blocking wait does, unless recent spins
        // of this registration missed (see `Registration`).
        if registration.listener.is_none() {
            if registration.skip == 0 {
                if spin_until(&mut cond, None) {
                    registration.misses = 0;
                    return Poll::Ready(());
                }
                registration.misses = registration.misses.saturating_add(1);
                registration.skip = (1u8 << registration.misses.min(MAX_SKIP_SHIFT)) - 1;
            } else {
                registration.skip -= 1;
            }
        }
        loop {
            if cond() {
                registration.listener = None;
                return Poll::Ready(());
            }
            match &mut registration.listener {
                None => registration.listener = Some(word.listen()),
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Ready(()) => registration.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl Registration {
    /// Whether an event-listener entry is registered (the last poll returned `Pending`).
    pub fn is_registered(&self) -> bool {
        self.listener.is_some()
    }
}

/// At most `2^4 - 1 = 15` waits register without spinning after a run of missed spins.
const MAX_SKIP_SHIFT: u8 = 4;

/// What an async wait of the [`Listener`] backend keeps between polls: its event-listener
/// entry while it is registered, and the spin history of the waits that used it.
///
/// The first poll of a wait spins for up to [`SPIN_BUDGET`](crate::SPIN_BUDGET) before it
/// registers, so that a partner on another thread that answers within microseconds is caught
/// without a wake-up. A spin that sees nothing is wasted time of the executor thread (always,
/// when the partner runs on the same thread), so spins back off: after `k` misses in a row,
/// the next `2^k - 1` waits (at most 15) register at once; a spin that succeeds resets the
/// count. Keep one registration per event and per waiting operation (a stream's reader keeps
/// one for *read ready*, its writer one for *write ready*): its entry listens to the event it
/// was made for.
#[derive(Debug, Default)]
pub struct Registration {
    listener: Option<EventListener>,
    /// Spins in a row that saw nothing.
    misses: u8,
    /// Waits left that register without spinning.
    skip: u8,
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

    /// A spin that sees nothing makes the next waits of the registration register at once,
    /// for 1, 3, 7, then at most 15 waits; a spin that succeeds resets the back-off.
    #[test]
    fn async_spins_back_off_after_misses() {
        let word = Listener::new_word();
        let waker = Waker::from(Arc::new(NoWake));
        let mut cx = Context::from_waker(&waker);
        let mut reg = Registration::default();
        let mut spins = 0u32;
        let mut wait_that_misses = |reg: &mut Registration| {
            let mut first_check = true;
            // Counts the waits that spun: a spin calls the condition many times, a wait that
            // registers at once calls it twice (before and after listening).
            let mut calls = 0u32;
            let poll = Listener::poll_wait(
                &word,
                reg,
                || {
                    calls += 1;
                    first_check = false;
                    false
                },
                &mut cx,
            );
            assert!(poll.is_pending());
            assert!(!first_check);
            if calls > 2 {
                spins += 1;
            }
            // The partner acts: the wait ends.
            assert!(Listener::poll_wait(&word, reg, || true, &mut cx).is_ready());
            assert!(!reg.is_registered());
        };
        // Miss 1 -> skip 1; miss 2 -> skip 3; miss 3 -> skip 7: 3 spins in 1 + 1 + 1 + 3 + 1 + 7
        // waits.
        for _ in 0..14 {
            wait_that_misses(&mut reg);
        }
        assert_eq!(spins, 3);
        assert_eq!((reg.misses, reg.skip), (3, 0));
        // A spin that succeeds resets the count.
        let mut n = 0;
        let ready = Listener::poll_wait(
            &word,
            &mut reg,
            || {
                n += 1;
                n > 3
            },
            &mut cx,
        );
        assert!(ready.is_ready());
        assert_eq!((reg.misses, reg.skip), (0, 0));
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
