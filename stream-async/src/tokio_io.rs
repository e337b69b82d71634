//! The `tokio` feature: tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for the byte
//! reader and writer, so that `tokio::io::copy` and tokio's `*Ext` traits work without a
//! compat layer. Each forwards to the `futures-io` implementation of the same type, so the
//! two behave alike (end of stream reads 0; a closed reader end is `BrokenPipe`).
//!
//! Unlike the `futures-io` ones, these take part in tokio's cooperative budget
//! (`tokio::task::coop`), as tokio's own I/O types (`DuplexStream`, `TcpStream`) do: a read or
//! write that makes progress spends one unit of the task's budget, and once it is spent the
//! next one returns `Pending` and wakes the task at once. Without it, a writer whose reader
//! keeps up (an open lend never fills) never returns `Pending`, so it starves the tasks that
//! share its worker; and on a multi-thread runtime the reader task it wakes waits in that
//! worker's LIFO slot, which no other worker can take, until the writer's ring is full (the
//! framed rows of `docs/bench.md`). Outside a tokio runtime the budget is unlimited.

use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::io;

use stream_events::AsyncBackend;
use tokio::io::ReadBuf;
use tokio::task::coop;

use crate::{AsyncReader, AsyncWriter};

/// Polls `poll` if the task has budget left, spending a unit when it is `Ready` (as tokio's
/// I/O types do, errors included); `Pending` with the task woken when the budget is spent.
fn spending_budget<T>(
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let coop = ready!(coop::poll_proceed(cx));
    let out = ready!(poll(cx));
    coop.made_progress();
    Poll::Ready(out)
}

/// As the `futures-io` `AsyncRead` of [`AsyncReader<u8>`](AsyncReader).
impl<B: AsyncBackend> tokio::io::AsyncRead for AsyncReader<u8, B> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(spending_budget(cx, |cx| {
            futures_lite::AsyncRead::poll_read(self, cx, buf.initialize_unfilled())
        }))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// As the `futures-io` `AsyncBufRead` of [`AsyncReader<u8>`](AsyncReader).
impl<B: AsyncBackend> tokio::io::AsyncBufRead for AsyncReader<u8, B> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        // As tokio's `BufReader`: showing what is buffered costs nothing; a fill from the
        // stream spends a unit.
        if !self.buffer().is_empty() {
            return Poll::Ready(Ok(self.get_mut().buffer()));
        }
        spending_budget(cx, |cx| futures_lite::AsyncBufRead::poll_fill_buf(self, cx))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        futures_lite::AsyncBufRead::consume(self, amt);
    }
}

/// As the `futures-io` `AsyncWrite` of [`AsyncWriter<u8>`](AsyncWriter); `poll_shutdown`
/// closes the writer end.
impl<B: AsyncBackend> tokio::io::AsyncWrite for AsyncWriter<u8, B> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        spending_budget(cx, |cx| futures_lite::AsyncWrite::poll_write(self, cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_lite::AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_lite::AsyncWrite::poll_close(self, cx)
    }
}
