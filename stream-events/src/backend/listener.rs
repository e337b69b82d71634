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
/// lives in the caller's future until it is woken or dropped.
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
    type Registration = Option<EventListener>;

    fn poll_wait(
        word: &Event,
        registration: &mut Option<EventListener>,
        mut cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        // The first poll of a wait spins first, as a blocking wait does: a partner that answers
        // within the budget costs no registration and no wake-up (see the crate docs).
        if registration.is_none() && spin_until(&mut cond, None) {
            return Poll::Ready(());
        }
        loop {
            if cond() {
                *registration = None;
                return Poll::Ready(());
            }
            match registration {
                None => *registration = Some(word.listen()),
                Some(listener) => match Pin::new(listener).poll(cx) {
                    Poll::Ready(()) => *registration = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
