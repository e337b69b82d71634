//! The writer's async loan: [`Writer::poll_loan`] and the future of [`Writer::loan_async`].

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll};

use stream_events::AsyncBackend;

use super::{start_kind, Writer};
use crate::error::WriteError;
use crate::loan::Loan;
use crate::raw::{RawStream, StartWriteError};

impl<T, B: AsyncBackend> Writer<T, B> {
    /// Polls for a lent buffer from async code: `Ready` with a [`Loan`] once the reader has
    /// lent one (or with an error, as [`loan`](Self::loan)); otherwise registers the task's
    /// waker in `registration` and returns `Pending`, to be woken when a buffer is lent or an
    /// end closes.
    ///
    /// Keep `registration` (it starts as `Default::default()`) between polls. While pending,
    /// the writer holds nothing: dropping the caller's future at any point loses nothing (and
    /// a reader's [`try_read_uninit`](crate::Reader::try_read_uninit) does not see a waiting writer). Commit
    /// or drop the loan before the next `.await`: a reader that cancels its read waits for
    /// the loan to end.
    ///
    /// # Errors
    ///
    /// As [`loan`](Self::loan).
    pub fn poll_loan(
        &mut self,
        registration: &mut B::Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Loan<'_, T, B>, WriteError>> {
        // SAFETY: our handle keeps the header alive while `self` is borrowed, and the loan
        // borrows `self` mutably, so no other operation of this handle overlaps it.
        unsafe { poll_loan(self.raw.as_ref(), registration, None, cx) }
    }

    /// [`poll_loan`](Self::poll_loan) as a future, for `.await`: resolves to a [`Loan`] of the
    /// next lent buffer. While another handle's write is in progress it waits its turn
    /// (where `poll_loan` answers `Busy`): whole writes of clones interleave.
    ///
    /// Cancel-safe: nothing is taken until it resolves, so dropping it loses nothing.
    pub fn loan_async(&mut self) -> LoanAsync<'_, T, B> {
        LoanAsync {
            // SAFETY: our handle keeps the header alive for `'_`, which the future borrows.
            raw: unsafe { self.raw.as_ref() },
            registration: Default::default(),
            turn: Default::default(),
            _writer: PhantomData,
        }
    }
}

/// The future of [`Writer::loan_async`]: resolves to a [`Loan`] of the next lent buffer, or to
/// an error as [`Writer::loan`].
#[must_use = "futures do nothing unless polled"]
pub struct LoanAsync<'a, T, B: AsyncBackend> {
    raw: &'a RawStream<B>,
    registration: B::Registration,
    /// The wait for another handle's write to end (a registration holds one event).
    turn: B::Registration,
    _writer: PhantomData<&'a mut Writer<T, B>>,
}

impl<'a, T, B: AsyncBackend> Future for LoanAsync<'a, T, B> {
    type Output = Result<Loan<'a, T, B>, WriteError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // SAFETY: the future borrows the writer mutably for `'a`, so it acts for the writer's
        // handle and nothing else of that handle overlaps the loan.
        unsafe { poll_loan(this.raw, &mut this.registration, Some(&mut this.turn), cx) }
    }
}

impl<T, B: AsyncBackend> fmt::Debug for LoanAsync<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoanAsync").finish_non_exhaustive()
    }
}

/// The body of [`Writer::poll_loan`], for a loan of any lifetime the caller can vouch for.
///
/// # Safety
///
/// The caller acts for a writer handle of `raw` that stays alive, and not used for another
/// write, for `'a`. With `turn`, another handle's write in progress is waited for (with that
/// registration) instead of answered with `Busy`.
unsafe fn poll_loan<'a, T, B: AsyncBackend>(
    raw: &'a RawStream<B>,
    registration: &mut B::Registration,
    mut turn: Option<&mut B::Registration>,
    cx: &mut Context<'_>,
) -> Poll<Result<Loan<'a, T, B>, WriteError>> {
    loop {
        // SAFETY: we act for the caller's handle and end the write (commit, the loan's drop,
        // or the probe's answer below) while that handle is alive.
        match unsafe { raw.start_writing() } {
            Ok((_, 0)) => {
                // A readiness probe: answer it and wait for a real buffer.
                // SAFETY: we own WRITING; zero elements are initialised.
                // (An orphaned read's buffer, if any, is freed by the drop of the result.)
                drop(unsafe { raw.commit(0, false) });
            }
            Ok((addr, capacity)) => {
                // Found without polling: waits left registered by earlier polls are over
                // (their next ones start afresh).
                raw.write_ready_event().end_wait(registration);
                if let Some(turn) = turn {
                    raw.read_ready_event().end_wait(turn);
                }
                // SAFETY: we own WRITING; the buffer holds `capacity` elements of `T`.
                return Poll::Ready(Ok(unsafe { Loan::new(raw, addr.cast(), capacity) }));
            }
            Err(StartWriteError::Blocked) => {
                let ready = raw.write_ready_event().poll_until(
                    registration,
                    || raw.is_ready_to_write() || raw.is_read_closed() || raw.is_write_closed(),
                    cx,
                );
                if ready.is_pending() {
                    return Poll::Pending;
                }
            }
            Err(StartWriteError::Busy) if turn.is_some() => {
                let turn = turn.as_deref_mut().expect("checked above");
                if raw.poll_writer_turn(turn, cx).is_pending() {
                    return Poll::Pending;
                }
            }
            Err(e) => return Poll::Ready(Err(WriteError::new(start_kind(e), ()))),
        }
    }
}
