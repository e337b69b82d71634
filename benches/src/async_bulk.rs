//! The rows of `async_bulk_u8`: bytes of a [`BytePattern`] through an async stream, each side
//! on its own `block_on`, read through `AsyncRead` or `AsyncBufRead` ([`ReadMode`]).
//!
//! May touch: the stream and block it makes, and the partner thread of
//! [`two_threads`](crate::two_threads).

use std::time::Duration;

use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::{two_threads, AlignedBlock, ByteCheck, BytePattern, BLOCK};

/// How the reader of an async bulk row takes the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// `AsyncReadExt::read` into a page-aligned block (a second copy), checked there.
    CopyOut,
    /// `AsyncBufReadExt::fill_buf`, checked in the stream's buffer, then `consume`.
    InPlace,
}

/// Times the transfer of `total` bytes of `pattern` through an async stream
/// (`stream_async::stream`, listener backend, a 64 KiB buffer), each side on its own
/// `futures_lite::future::block_on`: the writer `write_all`s each pattern block, the timed
/// reader takes the bytes as `mode` says and checks them with [`ByteCheck`].
pub fn bulk_async(pattern: &BytePattern, total: u64, mode: ReadMode) -> Duration {
    let (mut writer, mut reader) = stream_async::stream::<u8>(BLOCK);
    let mut buf = AlignedBlock::new();
    buf.fill_from(&[0; BLOCK]);
    let (elapsed, ()) = two_threads(
        move |gate| {
            futures_lite::future::block_on(async move {
                let mut check = ByteCheck::new(pattern);
                let start = gate.open();
                loop {
                    let n = match mode {
                        ReadMode::CopyOut => {
                            let n = reader.read(buf.as_mut_bytes()).await.unwrap();
                            check.check(&buf.as_bytes()[..n]);
                            n
                        }
                        ReadMode::InPlace => {
                            let chunk = reader.fill_buf().await.unwrap();
                            check.check(chunk);
                            let n = chunk.len();
                            reader.consume(n);
                            n
                        }
                    };
                    if n == 0 {
                        break;
                    }
                }
                let elapsed = start.elapsed();
                check.finish(total);
                elapsed
            })
        },
        move |gate| {
            futures_lite::future::block_on(async move {
                gate.open();
                let mut offset = 0u64;
                while offset < total {
                    let rest = pattern.rest_of_block(offset);
                    let want = rest.len().min((total - offset) as usize);
                    writer.write_all(&rest[..want]).await.unwrap();
                    offset += want as u64;
                }
                // Dropping the writer closes the stream: the reader reads 0.
            })
        },
    );
    elapsed
}
