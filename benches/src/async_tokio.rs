//! The rows of the async groups on tokio: one task writes `u64`s, another reads them, on a
//! `current_thread` runtime (both tasks on one thread, so a spin in a `poll` only delays the
//! partner) or a multi-thread one, through an async native stream or `tokio::sync::mpsc`,
//! one element at a time or in batches.
//!
//! May touch: the runtime, tasks, streams and channels it makes.

use std::time::{Duration, Instant};

use futures::SinkExt;

use crate::U64Check;

/// The runtime of an async row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `tokio::runtime::Builder::new_current_thread`: both tasks on the calling thread.
    CurrentThread,
    /// `tokio::runtime::Builder::new_multi_thread` with two workers.
    MultiThread,
}

impl Runtime {
    /// The runtime's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::CurrentThread => "tokio_current_thread",
            Runtime::MultiThread => "tokio_multi_thread",
        }
    }

    pub(crate) fn build(self) -> tokio::runtime::Runtime {
        match self {
            Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread().build(),
            Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build(),
        }
        .expect("a tokio runtime")
    }
}

/// How an async row's tasks move elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncRow {
    /// Native stream, reader buffer [`ASYNC_CAPACITY`]: the writer `send`s each element (one
    /// hand-off per element), the reader `recv`s each.
    NativeSend,
    /// Native stream, reader buffer [`ASYNC_CAPACITY`]: the writer `feed`s each element
    /// through its `Sink` (which fills the reader's buffer and commits it when full), then
    /// `close`s; the reader `recv`s each.
    NativeSink,
    /// Native stream, reader buffer [`ASYNC_CAPACITY`]: the writer `write_slice`s batches of
    /// [`ASYNC_CAPACITY`], the reader takes each batch it is given from its buffer.
    NativeBatch,
    /// `tokio::sync::mpsc::channel(ASYNC_CAPACITY)`, one element per `send` and `recv`.
    TokioMpsc,
    /// `tokio::sync::mpsc::channel(4)` of `Vec`s of [`ASYNC_CAPACITY`] elements.
    TokioMpscBatch,
}

/// Every row of the `async_current_thread` and `async_multi_thread` groups, in table order.
pub const ASYNC_ROWS: &[AsyncRow] = &[
    AsyncRow::NativeSend,
    AsyncRow::NativeSink,
    AsyncRow::TokioMpsc,
    AsyncRow::NativeBatch,
    AsyncRow::TokioMpscBatch,
];

impl AsyncRow {
    /// The row's name in every table.
    pub fn name(self) -> &'static str {
        match self {
            AsyncRow::NativeSend => "native_send",
            AsyncRow::NativeSink => "native_sink",
            AsyncRow::NativeBatch => "native_batch",
            AsyncRow::TokioMpsc => "tokio_mpsc256",
            AsyncRow::TokioMpscBatch => "tokio_mpsc_batch",
        }
    }
}

/// The reader's buffer of the native rows, the capacity of the tokio channel and the batch
/// size of the batched rows.
pub const ASYNC_CAPACITY: usize = 256;

/// Times `n` `u64`s from a writer task to a reader task of a fresh `runtime`, as `row`
/// says; the reader checks every element. Returns the time from the first poll to the end of
/// both tasks.
pub fn async_elements(runtime: Runtime, row: AsyncRow, n: u64) -> Duration {
    let rt = runtime.build();
    rt.block_on(async move {
        let start = Instant::now();
        let (writer, reader) = match row {
            AsyncRow::NativeSend | AsyncRow::NativeSink | AsyncRow::NativeBatch => {
                let (mut w, mut r) = stream_async::stream::<u64>(ASYNC_CAPACITY);
                let batch = row == AsyncRow::NativeBatch;
                let writer = tokio::spawn(async move {
                    if row == AsyncRow::NativeSink {
                        let mut w = w.into_buf_sink();
                        for i in 0..n {
                            w.feed(i).await.expect("reader gone");
                        }
                        w.close().await.expect("reader gone");
                    } else if batch {
                        let mut next = 0u64;
                        let mut items = Vec::with_capacity(ASYNC_CAPACITY);
                        while next < n {
                            items.clear();
                            items.extend(next..n.min(next + ASYNC_CAPACITY as u64));
                            let mut rest = &items[..];
                            while !rest.is_empty() {
                                let k = w.write_slice(rest).await.expect("reader gone");
                                rest = &rest[k..];
                            }
                            next += items.len() as u64;
                        }
                    } else {
                        for i in 0..n {
                            w.send(i).await.expect("reader gone");
                        }
                    }
                });
                let reader = tokio::spawn(async move {
                    let mut check = U64Check::new();
                    if batch {
                        while r.fill().await.is_ok() {
                            check.check(r.buffer());
                            let k = r.buffer().len();
                            r.consume(k);
                        }
                    } else {
                        while let Ok(v) = r.recv().await {
                            check.check_one(v);
                        }
                    }
                    check.finish(n);
                });
                (writer, reader)
            }
            AsyncRow::TokioMpsc => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(ASYNC_CAPACITY);
                let writer = tokio::spawn(async move {
                    for i in 0..n {
                        tx.send(i).await.expect("reader gone");
                    }
                });
                let reader = tokio::spawn(async move {
                    let mut check = U64Check::new();
                    while let Some(v) = rx.recv().await {
                        check.check_one(v);
                    }
                    check.finish(n);
                });
                (writer, reader)
            }
            AsyncRow::TokioMpscBatch => {
                let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u64>>(4);
                let writer = tokio::spawn(async move {
                    let mut next = 0u64;
                    while next < n {
                        let end = n.min(next + ASYNC_CAPACITY as u64);
                        tx.send((next..end).collect()).await.expect("reader gone");
                        next = end;
                    }
                });
                let reader = tokio::spawn(async move {
                    let mut check = U64Check::new();
                    while let Some(batch) = rx.recv().await {
                        check.check(&batch);
                    }
                    check.finish(n);
                });
                (writer, reader)
            }
        };
        writer.await.expect("writer task");
        reader.await.expect("reader task");
        start.elapsed()
    })
}
