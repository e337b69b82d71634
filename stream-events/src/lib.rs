//! The two events of a native stream, *read ready* and *write ready*, with interchangeable
//! backends.
//!
//! One side changes shared state and calls [`activate`](Event::activate); the other waits
//! until a condition on that state holds with [`wait_until`](Event::wait_until) (or its
//! `_timeout` and `_deadline` forms, or [`poll_until`](Event::poll_until) from async code).
//! The condition is the caller's: the event carries no data, so an activation can never be
//! "consumed" by the wrong waiter, and a wait re-checks the condition after every wake-up,
//! spurious or not. `stream-core` builds streams on two such events; use this crate directly
//! to pick a backend, or to wait on state of your own.
//!
//! An [`Event`] lives in an event word of the stream header ([`stream_abi::EventWord`]: one
//! pointer, whatever the backend).
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use stream_events::{DefaultBackend, Event};
//!
//! let event = Event::<DefaultBackend>::new();
//! let ready = AtomicBool::new(false);
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         ready.store(true, Ordering::Release);
//!         event.activate(); // after the change that the waiter waits for
//!     });
//!     event.wait_until(|| ready.load(Ordering::Acquire));
//! });
//! assert!(ready.load(Ordering::Relaxed));
//! ```
//!
//! # Backends
//!
//! A backend is a type parameter, so several can live in one binary:
//!
//! | backend      | feature    | waits by                                     | wakes `Waker`s |
//! |--------------|------------|----------------------------------------------|----------------|
//! | [`Spin`]     | `spin`     | crossbeam `Backoff`: spin, then yield        | no             |
//! | [`Futex`]    | `futex`    | spin (above), then `futex(2)`                | yes            |
//! | [`Listener`] | `listener` | spin (above), then event-listener            | yes            |
//!
//! The parking backends spin only while it pays: while the partner runs, or while it is being
//! woken. A [`SpinHistory`] (one per thread for blocking waits, one per registration for async
//! ones) halves the next spin after each spin that saw nothing, down to no spin, and restores
//! the full budget after a spin that caught its partner (a blocking wait that parked and still
//! ended within twice the budget doubles it). On a busy machine or a one-thread executor, where
//! the partner cannot answer during the spin, waits then park or register at once. A thread
//! that has just woken a parked partner spins through a *wake window* learned from how long
//! woken partners took to answer (at most 100 µs, as the kernel's halt-poll does): on machines
//! whose idle CPUs halt at once a wake-up takes microseconds, and a wait that parked too would
//! make the hand-off pay two of them. A spin that loses its CPU stops at once. A wait whose
//! partner shares its CPU (a park woken from its own CPU says so) yields instead of spinning,
//! so the partner runs at once.
//!
//! A backend that cannot wake a `Waker` does not implement [`AsyncBackend`], so
//! [`Event::poll_until`] does not exist for it: the mistake is a compile error, not a panic.
//!
//! # Guarantees
//!
//! No lost wake-up: if `activate` is called after a change that makes the condition true,
//! every waiter whose wait began before the change returns (each backend's module docs say
//! why). The same holds for [`activate_after_seqcst`](Event::activate_after_seqcst) when the
//! change was a `SeqCst` atomic write and the condition reads the location it wrote. A wait
//! with a deadline returns the condition's value at or after the deadline.
//!
//! An [`activate`](Event::activate) with nobody parked makes no syscall in any backend.
//!
//! # Features
//!
//! * `spin`, `listener`: add the backends above (both on by default). [`Futex`] is always
//!   built (its `futex` feature is kept, on by default, and changes nothing).
//! * [`DefaultBackend`] is [`Futex`] in every build. Features are additive: enabling one
//!   anywhere in a build adds a backend and never changes a type or removes a method, and
//!   every combination builds.
//!
//! The design notes are in `docs/design.md` of the repository, section "stream-events".
//!
// Without its feature a backend does not exist: its links point to the table above.
#![cfg_attr(not(feature = "spin"), doc = "[`Spin`]: #backends")]
#![cfg_attr(
    not(all(feature = "listener", not(stream_loom))),
    doc = "[`Listener`]: #backends"
)]

mod backend {
    pub(crate) mod futex;
    #[cfg(all(feature = "listener", not(stream_loom)))]
    pub(crate) mod listener;
    #[cfg(feature = "spin")]
    pub(crate) mod spin;
}
mod spin_phase;
mod sync;

use core::fmt;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use backend::futex::{Futex, Registration as FutexRegistration};
#[cfg(all(feature = "listener", not(stream_loom)))]
pub use backend::listener::{Listener, Registration as ListenerRegistration};
#[cfg(feature = "spin")]
pub use backend::spin::Spin;
pub use spin_phase::{spin_until, SpinHistory, SPIN_BUDGET};

/// The backend used when none is named: [`Futex`], whatever features are enabled (a feature
/// only adds a backend, it never changes this type). It serves blocking waits and async polls
/// alike, so one stream can have a blocking end and an async end.
pub type DefaultBackend = Futex;

/// How an event waits and wakes.
///
/// Implemented by `Spin`, `Futex` and `Listener`, the [backends](crate#backends) of
/// `stream-events`, each behind its feature.
pub trait Backend: Sized + Send + Sync + 'static {
    /// What the backend keeps in the event word. Outside loom models it has the size and
    /// alignment of [`stream_abi::EventWord`] (each backend asserts it at compile time).
    type Word: Send + Sync;

    /// A short name for reports and benchmarks.
    const NAME: &'static str;

    /// A word in its initial state.
    fn new_word() -> Self::Word;

    /// Wakes every waiter of the word, so that it re-checks its condition.
    fn activate(word: &Self::Word);

    /// [`activate`](Self::activate) for a caller whose condition change was a `SeqCst`
    /// atomic write (a store or read-modify-write) sequenced before this call, waking waiters
    /// whose condition reads the location of that write. A backend may then skip its work
    /// when nobody is parked, without a fence. The default is `activate`.
    ///
    /// With a weaker change, a waiter that is parking at that moment could miss it: the
    /// fast path reads the backend's "somebody parked" state, and only the `SeqCst` total
    /// order makes that read and the waiter's announce-then-check exclude each other.
    #[inline]
    fn activate_after_seqcst(word: &Self::Word) {
        Self::activate(word);
    }

    /// Blocks until `cond` returns `true` (returns `true`) or `deadline` passes (returns the
    /// last value of `cond`, checked at or after the deadline).
    fn wait(word: &Self::Word, cond: impl FnMut() -> bool, deadline: Option<Instant>) -> bool;
}

/// A backend that can also wake a [`Waker`](core::task::Waker).
pub trait AsyncBackend: Backend {
    /// What a pending poll keeps registered between polls. Dropping it unregisters. Use one
    /// registration with one event only: it may hold an entry of the event it was first
    /// polled with.
    type Registration: Default + Send + Unpin;

    /// Returns `Ready` once `cond` holds; otherwise registers `cx`'s waker (in
    /// `registration`) so that the next [`Backend::activate`] wakes it, and returns `Pending`.
    fn poll_wait(
        word: &Self::Word,
        registration: &mut Self::Registration,
        cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()>;

    /// Ends a wait that registered with `registration` and whose condition the caller then
    /// found true by itself, without polling it again (a stream's reader looks for elements
    /// before it waits): removes the entry, and the spin history learns from the answer as
    /// if [`poll_wait`](Self::poll_wait) had seen it. Does nothing when nothing is
    /// registered.
    fn end_wait(word: &Self::Word, registration: &mut Self::Registration);
}

/// One event: an event word interpreted by backend `B`.
///
/// `Event<B>` is `#[repr(transparent)]` over `B::Word`, so a stream header can hold it in an
/// event word.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use stream_events::{DefaultBackend, Event};
///
/// let event = Event::<DefaultBackend>::new();
/// let flag = AtomicBool::new(false);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         flag.store(true, Ordering::Release);
///         event.activate();
///     });
///     event.wait_until(|| flag.load(Ordering::Acquire));
/// });
/// assert!(flag.load(Ordering::Relaxed));
/// ```
#[repr(transparent)]
pub struct Event<B: Backend> {
    word: B::Word,
}

impl<B: Backend> Event<B> {
    /// A new event with nobody waiting.
    #[inline]
    pub fn new() -> Self {
        Self {
            word: B::new_word(),
        }
    }

    /// Wakes every waiter so that it re-checks its condition. Call it after the change that
    /// the waiters wait for.
    #[inline]
    pub fn activate(&self) {
        B::activate(&self.word);
    }

    /// Like [`activate`](Self::activate), for a caller that made its change with a `SeqCst`
    /// atomic write sequenced before this call, for waiters whose condition reads the
    /// location of that write: cheaper in some backends (the futex backend then reads its
    /// word instead of writing it when nobody is parked). With any weaker change, or waiters
    /// that look elsewhere, call `activate`.
    #[inline]
    pub fn activate_after_seqcst(&self) {
        B::activate_after_seqcst(&self.word);
    }

    /// Blocks until `cond` returns `true`.
    ///
    /// `cond` may be called any number of times, from this thread only.
    #[inline]
    pub fn wait_until(&self, cond: impl FnMut() -> bool) {
        let held = B::wait(&self.word, cond, None);
        debug_assert!(held);
    }

    /// Blocks until `cond` returns `true` or `timeout` has passed; returns whether `cond`
    /// held.
    #[inline]
    pub fn wait_until_timeout(&self, cond: impl FnMut() -> bool, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => B::wait(&self.word, cond, Some(deadline)),
            None => B::wait(&self.word, cond, None),
        }
    }

    /// Blocks until `cond` returns `true` or `deadline` is reached; returns whether `cond`
    /// held.
    #[inline]
    pub fn wait_until_deadline(&self, cond: impl FnMut() -> bool, deadline: Instant) -> bool {
        B::wait(&self.word, cond, Some(deadline))
    }

    /// The backend's word, for code that needs its raw state (the C interface).
    pub fn word(&self) -> &B::Word {
        &self.word
    }
}

impl<B: AsyncBackend> Event<B> {
    /// Returns `Ready` once `cond` holds; otherwise registers the task's waker in
    /// `registration` and returns `Pending`, to be woken by the next activation.
    ///
    /// Keep `registration` between polls (it starts as `Default::default()`); dropping it
    /// cancels the registration.
    #[inline]
    pub fn poll_until(
        &self,
        registration: &mut B::Registration,
        cond: impl FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        B::poll_wait(&self.word, registration, cond, cx)
    }

    /// Ends a wait of [`poll_until`](Self::poll_until) whose condition the caller found true
    /// without polling again (see [`AsyncBackend::end_wait`]). Call it where an async wait's
    /// caller checks its condition before it polls, so that the next wait starts afresh (its
    /// first poll spins, as the history says) and the history sees where the partner runs.
    #[inline]
    pub fn end_wait(&self, registration: &mut B::Registration) {
        B::end_wait(&self.word, registration);
    }
}

impl<B: Backend> Default for Event<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> fmt::Debug for Event<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("backend", &B::NAME)
            .finish_non_exhaustive()
    }
}
