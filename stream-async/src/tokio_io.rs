//! The `tokio` feature: tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for the byte
//! reader and writer, so that `tokio::io::copy` and tokio's `*Ext` traits work without a
//! compat layer. Each forwards to the `futures-io` implementation of the same type, so the
//! two behave alike (end of stream reads 0; a closed reader end is `BrokenPipe`).

use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use stream_events::AsyncBackend;
use tokio::io::ReadBuf;

use crate::{AsyncReader, AsyncWriter};

/// As the `futures-io` `AsyncRead` of [`AsyncReader<u8>`](AsyncReader).
impl<B: AsyncBackend> tokio::io::AsyncRead for AsyncReader<u8, B> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = match futures_lite::AsyncRead::poll_read(self, cx, buf.initialize_unfilled()) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// As the `futures-io` `AsyncBufRead` of [`AsyncReader<u8>`](AsyncReader).
impl<B: AsyncBackend> tokio::io::AsyncBufRead for AsyncReader<u8, B> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        futures_lite::AsyncBufRead::poll_fill_buf(self, cx)
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
        futures_lite::AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_lite::AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_lite::AsyncWrite::poll_close(self, cx)
    }
}
