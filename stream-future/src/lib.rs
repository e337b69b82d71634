//! The one-element future: a native stream whose reader lends a one-element slot, written
//! once.
//!
//! A future is the stream header of `stream-core` followed, in the same allocation, by a slot
//! for one `T`. The slot is lent to the writer when the future is created, so writing never
//! blocks, even before the reader starts waiting; finishing the write closes the writer end in
//! the same atomic step, and taking the value ends the reader's side. One allocation per
//! future, nothing else (with the `Listener` backend, event-listener allocates its waiter list
//! the first time a reader parks or a write wakes one).
//!
//! # Usage
//!
//! ```
//! let (writer, reader) = stream_future::future::<String>();
//! std::thread::spawn(move || writer.write("done".to_string()).unwrap());
//! assert_eq!(reader.read().unwrap(), "done");
//! ```
//!
//! # Behaviour
//!
//! * [`FutureWriter::write`] never blocks. If the reader is gone, the value comes back in the
//!   error: nothing is lost.
//! * Dropping the writer without writing closes the future: the reader gets
//!   [`ReadError`] ("closed without a value"), the design's `CLOSED`.
//! * Dropping either end at any moment, also while the other is mid-operation, frees the
//!   allocation exactly once and drops an undelivered value exactly once (a value written but
//!   never read is dropped by the reader's drop).
//! * Handles are one pointer wide.
//! * Any element type works, also one aligned above 64 bytes (its block is then allocated with
//!   its alignment).
//!
//! # Mixing with C
//!
//! The header is the `stream_abi::StreamHeader` layout, so C code can write a Rust future
//! with the stream functions on [`FutureReader::raw`] (`start_writing`, copy the value,
//! `finish_writing(1)`, `close_write`), or close either end. The Rust handles stay sound
//! whatever such a sequence did before or does meanwhile: a [`FutureWriter::write`] that
//! finds the value delivered, an end closed or the slot taken gives its value back untouched.
//! The C code acts for a Rust handle: that handle must stay alive until the sequence ends
//! (the header is freed with the last handle). A Rust future's handles are not counted from C
//! (`retain`/`release`): its allocation is not the C library's.
//!
//! # Design
//!
//! How the future is laid out, allocated and written (the claim before the write, the
//! fast path, who frees) is described in `docs/design.md` of the repository, section
//! "stream-future"; the state bits it adds to the stream's are listed in
//! `stream-core/src/raw/future/mod.rs`.

mod error;
mod sync;
mod writer;

use core::fmt;
use core::future::{Future, IntoFuture};
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use stream_abi::{BLOCKED, CLOSED};
use stream_core::{PaddedBlock, RawStream, Shared};
use stream_events::{AsyncBackend, Backend, DefaultBackend};

pub use crate::error::{ReadError, ReadTimeoutError, TryReadError, WriteError};
use crate::sync::UnsafeCell;

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// How long a read may wait.
enum Wait<'r, 'c, B: Backend> {
    Try,
    Block,
    Until(Instant),
    /// Poll from async code: register the waker instead of blocking.
    Poll(&'r mut dyn PollEvent<B>, &'r mut Context<'c>),
}

/// A registration that can poll the read-ready event: erases the `AsyncBackend` bound so that
/// `read_inner` serves every backend.
trait PollEvent<B: Backend> {
    fn poll(
        &mut self,
        header: &RawStream<B>,
        cond: &mut dyn FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> bool;
}

impl<B: AsyncBackend> PollEvent<B> for Poller<'_, B> {
    fn poll(
        &mut self,
        header: &RawStream<B>,
        cond: &mut dyn FnMut() -> bool,
        cx: &mut Context<'_>,
    ) -> bool {
        header
            .read_ready_event()
            .poll_until(self.0, cond, cx)
            .is_ready()
    }
}

/// The caller's registration, wrapped so that `PollEvent` can be implemented for it.
struct Poller<'a, B: AsyncBackend>(&'a mut B::Registration);

/// The writing end of a future: writes its one value.
pub struct FutureWriter<T, B: Backend = DefaultBackend> {
    block: PaddedBlock<B, Slot<T>>,
    _value: PhantomData<T>,
}

/// The reading end of a future: reads its one value.
pub struct FutureReader<T, B: Backend = DefaultBackend> {
    block: PaddedBlock<B, Slot<T>>,
    _value: PhantomData<T>,
}

// SAFETY: the writer moves a `T` to the reader's thread, so it may cross threads when
// `T: Send`; the shared header is `Sync`.
unsafe impl<T: Send, B: Backend> Send for FutureWriter<T, B> {}
// SAFETY: `&FutureWriter` reaches only `is_closed`, an atomic load.
unsafe impl<T: Send, B: Backend> Sync for FutureWriter<T, B> {}
// SAFETY: the reader moves the `T` out on its thread, so it may cross threads when `T: Send`.
unsafe impl<T: Send, B: Backend> Send for FutureReader<T, B> {}
// SAFETY: `&FutureReader` reaches only `is_closed`-style atomic loads.
unsafe impl<T: Send, B: Backend> Sync for FutureReader<T, B> {}

/// Creates a future of `T` with the [`DefaultBackend`] events.
pub fn future<T>() -> (
    FutureWriter<T, DefaultBackend>,
    FutureReader<T, DefaultBackend>,
) {
    future_with::<T, DefaultBackend>()
}

/// Creates a future of `T` with the events of backend `B`.
///
/// # Examples
///
/// ```
/// let (writer, reader) = stream_future::future_with::<u32, stream_events::Spin>();
/// drop(writer);
/// assert_eq!(reader.read(), Err(stream_future::ReadError));
/// ```
#[inline]
pub fn future_with<T, B: Backend>() -> (FutureWriter<T, B>, FutureReader<T, B>) {
    // The slot's address is only recorded: the slot itself is accessed through its cell. It
    // lives in the allocation, which outlives the read; the header is made with the slot lent
    // and the writer end reserved (the `FutureWriter`'s alone until it allows raw writes),
    // before either handle exists; the reader frees it with the functions of `create_padded`.
    let block = Shared::<B, Slot<T>>::create_padded_reserved(
        UnsafeCell::new(MaybeUninit::uninit()),
        |slot| slot.with_mut(|p| p.cast()),
    );
    (
        FutureWriter {
            block,
            _value: PhantomData,
        },
        FutureReader {
            block,
            _value: PhantomData,
        },
    )
}

impl<T, B: Backend> FutureReader<T, B> {
    fn header(&self) -> &RawStream<B> {
        // SAFETY: our handle keeps the allocation (from `create_padded`) alive.
        unsafe { Shared::header_of(self.block.shared()) }
    }

    fn slot(&self) -> &Slot<T> {
        // SAFETY: our handle keeps the allocation (from `create_padded`) alive.
        unsafe { Shared::extra_of(self.block.shared()) }
    }

    /// Blocks until the value is written and returns it.
    ///
    /// # Errors
    ///
    /// [`ReadError`] when the writer was dropped without writing.
    #[inline]
    pub fn read(self) -> Result<T, ReadError> {
        // The free below reads the allocator's word before the header: start fetching it
        // now, beside the header (a future made on another thread has both out of cache).
        Shared::prefetch_block_start(self.block.shared());
        let this = ManuallyDrop::new(self);
        // The fast path: delivered, and the writer released its handle with it. Nobody else
        // uses the allocation any more: move the value out and free it.
        // SAFETY: ours is the only handle left then, owning the read, and not used after a
        // `Some` (`Drop` does not run: `this` is `ManuallyDrop`). DONE: the writer wrote the
        // slot before its Release delivery, which the check acquired; the value was not taken
        // (phase DONE), and is moved out once, the allocation freed next.
        let taken = unsafe {
            Shared::take_released_future(this.block, |slot| slot.with(|p| (*p).assume_init_read()))
        };
        if let Some(value) = taken {
            return Ok(value);
        }
        ManuallyDrop::into_inner(this).read_blocking()
    }

    /// `read` when the fast path does not apply: kept out of line so that the fast path
    /// inlines into the caller.
    #[inline(never)]
    fn read_blocking(mut self) -> Result<T, ReadError> {
        self.read_inner(Wait::Block).map_err(|_| ReadError)
    }

    /// Returns the value if it has been written, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryReadError::Empty`] before the write; [`TryReadError::Closed`] when the writer was
    /// dropped without writing, or the value was already read.
    pub fn try_read(&mut self) -> Result<T, TryReadError> {
        self.read_inner(Wait::Try).map_err(|closed| {
            if closed {
                TryReadError::Closed
            } else {
                TryReadError::Empty
            }
        })
    }

    /// Waits at most `timeout` for the value.
    ///
    /// # Errors
    ///
    /// [`ReadTimeoutError::Timeout`] when it was not written in time (the future stays
    /// readable); [`ReadTimeoutError::Closed`] as for [`try_read`](Self::try_read).
    pub fn read_timeout(&mut self, timeout: Duration) -> Result<T, ReadTimeoutError> {
        let wait = Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Block, Wait::Until);
        self.read_inner(wait).map_err(|closed| {
            if closed {
                ReadTimeoutError::Closed
            } else {
                ReadTimeoutError::Timeout
            }
        })
    }

    /// Waits until `deadline` for the value.
    ///
    /// # Errors
    ///
    /// As [`read_timeout`](Self::read_timeout).
    pub fn read_deadline(&mut self, deadline: Instant) -> Result<T, ReadTimeoutError> {
        self.read_inner(Wait::Until(deadline)).map_err(|closed| {
            if closed {
                ReadTimeoutError::Closed
            } else {
                ReadTimeoutError::Timeout
            }
        })
    }

    /// Polls for the value from async code: `Ready` with the value or [`ReadError`], or
    /// `Pending` with the task's waker registered in `registration`, to be woken when the
    /// value is written or the writer is dropped.
    ///
    /// Keep `registration` (it starts as `Default::default()`) between polls; dropping it
    /// unregisters. After `Ready`, the future is spent: later polls return
    /// `Ready(Err(ReadError))`. The `stream-async` crate wraps this in a `Future`.
    pub fn poll_read(
        &mut self,
        registration: &mut B::Registration,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ReadError>>
    where
        B: AsyncBackend,
    {
        let mut poller = Poller::<B>(registration);
        match self.read_inner(Wait::Poll(&mut poller, cx)) {
            Ok(value) => Poll::Ready(Ok(value)),
            Err(true) => Poll::Ready(Err(ReadError)),
            Err(false) => Poll::Pending,
        }
    }

    /// Whether the value can be read now or the future is closed (a read would not block).
    pub fn is_ready(&self) -> bool {
        let header = self.header();
        !header.is_read_pending() || header.is_write_closed()
    }

    /// The value, or `Err(true)` when closed without one, `Err(false)` when `wait` ended
    /// first.
    fn read_inner(&mut self, wait: Wait<'_, '_, B>) -> Result<T, bool> {
        let header = self.header();
        if header.future_writer_released() == Some(true) {
            // The usual case of a value written before the read: the writer delivered and
            // released its handle in one step, so we are alone and take the value without an
            // atomic read-modify-write.
            // SAFETY: the check returned `Some(true)`; this handle owns the pending read and
            // is the only one left.
            let n = unsafe { header.take_count_alone() };
            debug_assert_eq!(n, 1);
            // SAFETY: delivered (the check acquired the writer's Release delivery) and the
            // read ended, so the value is ours to move out, once: the drop sees the phase
            // IDLE and does not drop it again.
            return Ok(self.slot().with(|p| unsafe { (*p).assume_init_read() }));
        }
        if !header.is_read_pending() {
            // The value was taken already (or the slot reclaimed at close).
            return Err(true);
        }
        let mut amount = BLOCKED;
        let mut poll = || {
            // SAFETY: this handle owns the pending read (the slot lent at creation); the
            // reader end has no other handle.
            amount = unsafe { header.read_amount() };
            amount != BLOCKED
        };
        let ready = poll()
            || match wait {
                Wait::Try => false,
                Wait::Block => {
                    header.announce_future_wait();
                    header.read_ready_event().wait_until(&mut poll);
                    true
                }
                Wait::Until(d) => {
                    header.announce_future_wait();
                    header.read_ready_event().wait_until_deadline(&mut poll, d)
                }
                Wait::Poll(registration, cx) => {
                    header.announce_future_wait();
                    registration.poll(header, &mut poll, cx)
                }
            };
        match amount {
            1 => {
                // SAFETY: `read_amount` took the count of 1 (DONE -> IDLE): the writer wrote
                // the slot before its Release delivery, which we acquired; we move the value
                // out exactly once (the read has ended, so no later read or drop takes it).
                Ok(self.slot().with(|p| unsafe { (*p).assume_init_read() }))
            }
            CLOSED => Err(true),
            _ => {
                debug_assert!(!ready && amount == BLOCKED);
                Err(false)
            }
        }
    }
}

impl<T, B: Backend> Drop for FutureReader<T, B> {
    /// Releases the reader: the writer's write fails from now on (giving the value back); a
    /// value already written and not read is dropped here.
    fn drop(&mut self) {
        let header = self.header();
        let mut writer_released = header.future_writer_released();
        if writer_released.is_none() && header.is_read_pending() {
            header.close_read();
            // SAFETY: we own the pending read; after the close the writer cannot deliver, so
            // the cancel either reclaims the slot (0) or takes the delivered value (1) ...
            match unsafe { header.try_cancel_read() } {
                Some(1) => {
                    // SAFETY: delivered and never read: ours to drop, once.
                    self.slot().with_mut(|p| unsafe { (*p).assume_init_drop() });
                }
                Some(_) => {}
                None => {
                    // ... or finds a raw writer holding the slot (C, or code acting through
                    // `raw()` after `allow_raw_writes`). Do not wait for it (a drop never
                    // blocks): leave the read pending; whichever handle is released last
                    // drops a value committed meanwhile.
                    let shared = self.block.shared();
                    // SAFETY: our handle, released once; we give up the pending read and
                    // touch the slot again only to drop a value nobody took, as the last
                    // handle (the allocation is alive until the free that follows); the
                    // allocation came from `create_padded`.
                    unsafe {
                        Shared::release_reader_padded_leaving_read(shared, || {
                            Shared::extra_of(shared).with_mut(|p| (*p).assume_init_drop())
                        })
                    };
                    return;
                }
            }
            // The writer may have delivered (and released its handle) before our close.
            // `cancel_read` took the value, so this reports it taken.
            writer_released = header.future_writer_released();
        }
        match writer_released {
            Some(untaken) => {
                if untaken {
                    // SAFETY: delivered (the check acquired the writer's Release) and never
                    // read: ours to drop, once (the allocation is freed next).
                    self.slot().with_mut(|p| unsafe { (*p).assume_init_drop() });
                }
                // SAFETY: the writer released its handle in its delivery, which happens
                // before our check; ours is the last handle, not used after this; the
                // allocation came from `create_padded`.
                unsafe { Shared::free_padded_block(self.block) };
            }
            // SAFETY: our handle, released once; no read is pending any more; the
            // allocation came from `create_padded`.
            None => unsafe { Shared::release_reader_padded(self.block.shared()) },
        }
    }
}

/// Awaiting a `FutureReader` reads its value, with the results of [`FutureReader::read`],
/// without blocking the thread (the backend must wake `Waker`s: the default `Futex`, or
/// `Listener`).
///
/// # Examples
///
/// ```
/// let (writer, reader) = stream_future::future::<u8>();
/// std::thread::spawn(move || writer.write(42).unwrap());
/// let value = futures_lite::future::block_on(async { reader.await });
/// assert_eq!(value, Ok(42));
/// ```
impl<T, B: AsyncBackend> IntoFuture for FutureReader<T, B> {
    type Output = Result<T, ReadError>;
    type IntoFuture = ReadFuture<T, B>;

    fn into_future(self) -> ReadFuture<T, B> {
        ReadFuture {
            reader: self,
            registration: Default::default(),
        }
    }
}

/// The future of an awaited [`FutureReader`] (its `into_future`): resolves to the value, or
/// [`ReadError`] when the writer was dropped without writing. `stream-async` hands it out as
/// `AsyncFutureReader`.
///
/// It is `Unpin`, so `&mut fut` can be polled: a `select!` that takes another branch leaves
/// it, and the reader inside, for a later poll. After it resolved, a poll returns
/// `Ready(Err(ReadError))`: the value is read once. Dropping it at any point is safe and drops
/// the reader (the writer's write then fails and gives its value back; a value already
/// written is dropped with the reader).
#[must_use = "futures do nothing unless polled"]
pub struct ReadFuture<T, B: AsyncBackend> {
    reader: FutureReader<T, B>,
    registration: B::Registration,
}

// The value is never pinned: it moves out of the shared slot only when it is returned.
impl<T, B: AsyncBackend> Unpin for ReadFuture<T, B> {}

impl<T, B: AsyncBackend> ReadFuture<T, B> {
    /// The reader inside (its `try_read`, `read_timeout`, `raw`).
    pub fn into_inner(self) -> FutureReader<T, B> {
        self.reader
    }

    /// Whether the value can be read now or the future is closed (a poll would not wait).
    pub fn is_ready(&self) -> bool {
        self.reader.is_ready()
    }
}

impl<T, B: AsyncBackend> Future for ReadFuture<T, B> {
    type Output = Result<T, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.reader.poll_read(&mut this.registration, cx)
    }
}

impl<T, B: AsyncBackend> fmt::Debug for ReadFuture<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl<T, B: Backend> fmt::Debug for FutureWriter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header().fmt_end(f, "FutureWriter", false)
    }
}

impl<T, B: Backend> fmt::Debug for FutureReader<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header().fmt_end(f, "FutureReader", true)
    }
}

/// The raw header of a future, for the C interface and diagnostics.
impl<T, B: Backend> FutureReader<T, B> {
    /// The stream header.
    ///
    /// Its *read ready* event is activated by [`FutureWriter::write`] only when this reader
    /// waits in one of its own reads (see `docs/design.md`, "stream-future"): wait for
    /// the value through this handle, not on the event.
    pub fn raw(&self) -> &RawStream<B> {
        self.header()
    }
}
