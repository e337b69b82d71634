//! The framed program rows (`program_framed_current_thread`, `program_framed_multi_thread`):
//! tokio-util's `FramedWrite<_, LinesCodec>` `send`s each line, one `send` per line as a user
//! writes it, and `FramedRead<_, LinesCodec>` reads them in another task, through an async
//! native stream (`AsyncWriter<u8>` and `AsyncReader<u8>` as tokio's `AsyncWrite` and
//! `AsyncRead`, reader buffer 64 KiB) or `tokio::io::duplex(64 KiB)`.
//!
//! May touch: the runtime, tasks and streams it makes.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

use crate::{Carrier, Runtime};

/// The async native stream's reader buffer and the duplex's capacity: 64 KiB.
pub const FRAMED_CAPACITY: usize = 64 * 1024;

/// Times `lines` lines `line 0`, `line 1`, … from a `FramedWrite` task to a `FramedRead` task
/// of a fresh `runtime`, over `carrier` (native or `TokioDuplex`); the reader checks every
/// line and the count. Returns the time from the first poll to the end of both tasks.
///
/// # Panics
///
/// For another carrier, and when a check fails.
pub fn framed_lines(runtime: Runtime, carrier: Carrier, lines: u64) -> Duration {
    match carrier {
        Carrier::Native => {
            let (writer, reader) = stream_async::stream::<u8>(FRAMED_CAPACITY);
            framed_run(runtime, writer, reader, lines)
        }
        Carrier::TokioDuplex => {
            let (writer, reader) = tokio::io::duplex(FRAMED_CAPACITY);
            framed_run(runtime, writer, reader, lines)
        }
        other => panic!("no framed row for {other:?}"),
    }
}

fn framed_run<W, R>(runtime: Runtime, writer: W, reader: R, lines: u64) -> Duration
where
    W: AsyncWrite + Unpin + Send + 'static,
    R: AsyncRead + Unpin + Send + 'static,
{
    runtime.build().block_on(async move {
        let start = Instant::now();
        let writer = tokio::spawn(async move {
            let mut framed = FramedWrite::new(writer, LinesCodec::new());
            let mut line = String::new();
            for i in 0..lines {
                line.clear();
                write!(line, "line {i}").expect("formatted");
                framed.send(line.as_str()).await.expect("sent");
            }
            // Flushes and shuts the writer down: the reader sees the end.
            SinkExt::<&str>::close(&mut framed).await.expect("closed");
        });
        let reader = tokio::spawn(async move {
            let mut framed = FramedRead::new(reader, LinesCodec::new());
            let mut count = 0u64;
            while let Some(line) = framed.next().await {
                let line = line.expect("a line");
                let n: u64 = line
                    .strip_prefix("line ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("line {count}: {line:?}"));
                assert_eq!(n, count, "line {count}");
                count += 1;
            }
            assert_eq!(count, lines);
        });
        writer.await.expect("writer task");
        reader.await.expect("reader task");
        start.elapsed()
    })
}
