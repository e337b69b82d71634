//! Shared helpers of the criterion benchmarks of native streams.
//!
//! The benchmark targets live in `benches/`:
//!
//! * `events`: one activate → wake round trip between two threads for each event backend
//!   (`Spin`, `Futex`, `Listener`), beside a raw spin and a raw futex ping-pong and a
//!   crossbeam-channel `bounded(1)` ping-pong (group `events_round_trip`).
//! * `stream`: one-element round trips through two streams (`stream_round_trip`), bytes
//!   through 64 KiB lent buffers (`stream_bulk_u8`) and `u64`s through 1024-element lent
//!   buffers (`stream_bulk_u64`), each beside crossbeam-channel, `std::sync::mpsc`, rtrb and a
//!   floor that has no second thread or no stream at all.
//! * `future`: one-element futures of `stream-future` per backend beside the `oneshot` crate,
//!   `tokio::sync::oneshot` and `futures::channel::oneshot` (group `future`, functions
//!   `create_send_recv` on one thread, `pipelined` with the value there before the receiver
//!   looks, and `reader_waiting` with the receiver already blocked; the target's docs say
//!   how each is measured).
//!
//! # Running
//!
//! ```text
//! # Everything side by side, quick, with a table of ratios and targets
//! # (target/bench-report.md; `--help` for the options):
//! cargo xtask bench
//! # Everything, with criterion's defaults:
//! cargo bench -p benches
//! # A quick pass (a few seconds per row):
//! cargo bench -p benches --bench stream -- --warm-up-time 0.5 --measurement-time 2 --sample-size 10
//! # The full-size bulk run:
//! NATIVE_STREAM_BENCH_BYTES=1Gi cargo bench -p benches --bench stream -- stream_bulk_u8
//! # Ratios with every row run in turn, round by round (what `cargo xtask bench` decides by):
//! cargo run --release -p benches --example interleaved -- bulk 15
//! # Where the time of a bulk row goes, per 64 KiB block and side:
//! cargo run --release -p benches --example bulk_breakdown
//! ```
//!
//! Environment variables (read by the `stream` target; a plain number or one with a `K`,
//! `M`, `G` suffix, binary, optionally followed by `i` or `iB`: `64Mi`, `1G`, `4096`):
//!
//! * `NATIVE_STREAM_BENCH_BYTES`: bytes moved per iteration of `stream_bulk_u8`
//!   (default [`DEFAULT_BULK_BYTES`], 64 MiB; 1 GiB is the reference size).
//! * `NATIVE_STREAM_BENCH_ELEMS`: `u64`s moved per iteration of `stream_bulk_u64`
//!   (default [`DEFAULT_BULK_ELEMS`], 16 Mi).
//!
//! # Method
//!
//! * Two-thread rows run in [`two_threads`]: criterion's thread is the timed side (the side
//!   that finishes last: the one that receives the last reply, or the reader), the partner is
//!   a scoped thread, and both start together at a [`Gate`] after every allocation is done.
//!   Each criterion sample makes its own streams and channels, so no state leaks between
//!   samples.
//! * Every row checks its data while it is timed, the same way for every row of a group:
//!   round trips check every reply (the partner answers `i + 1` to `i`); bulk rows check the
//!   position of the first and last element of every chunk received and a checksum of every
//!   byte or element ([`ByteCheck`], [`U64Check`]), and assert the total count and checksum at
//!   the end.
//! * Bulk byte data is [`BytePattern`]: seven distinct pseudo-random 64 KiB blocks in turn, so a
//!   reader that saw a stale buffer (last round's block) fails its check.
//! * Every bulk copy is between buffers at the same offset within a page ([`AlignedBlock`]
//!   says why: on some machines a bad relative placement costs 15× in `memcpy`).

use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use rtrb::{Consumer, Producer, PushError, RingBuffer};
use stream_core::{stream_with, ReadAhead, ReadError};
use stream_events::{Backend, Event};

/// Default for `NATIVE_STREAM_BENCH_BYTES`: 64 MiB per iteration of `stream_bulk_u8`.
pub const DEFAULT_BULK_BYTES: u64 = 64 << 20;

/// Default for `NATIVE_STREAM_BENCH_ELEMS`: 16 Mi `u64`s per iteration of `stream_bulk_u64`.
pub const DEFAULT_BULK_ELEMS: u64 = 16 << 20;

/// Size of a lent buffer, a channel's `Vec`, the rtrb ring and a pattern block in the byte
/// benchmarks: 64 KiB.
pub const BLOCK: usize = 64 * 1024;

/// Reads an amount from environment variable `name`, or returns `default` when it is unset.
///
/// Accepts a plain number or one with a binary `K`, `M` or `G` suffix, optionally followed by
/// `i` or `iB` (`64Mi`, `1G`, `4096`).
///
/// # Panics
///
/// When the variable is set but is not such an amount, or is zero.
pub fn env_amount(name: &str, default: u64) -> u64 {
    let Ok(text) = std::env::var(name) else {
        return default;
    };
    let amount = parse_amount(&text)
        .unwrap_or_else(|| panic!("{name}={text:?}: expected an amount such as 4096, 64Mi, 1G"));
    assert!(amount > 0, "{name} must not be zero");
    amount
}

fn parse_amount(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix('i'))
        .unwrap_or(text);
    let (digits, shift) = match text.as_bytes().last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 10),
        b'm' | b'M' => (&text[..text.len() - 1], 20),
        b'g' | b'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value: u64 = digits.trim().parse().ok()?;
    value.checked_mul(1 << shift)
}

/// The start line of [`two_threads`]: both sides call [`open`](Gate::open) once, when they are
/// ready to run.
pub struct Gate {
    barrier: Barrier,
}

impl Gate {
    /// Waits until the other side is ready too; returns the instant both were released, the
    /// start of the timed region.
    pub fn open(&self) -> Instant {
        self.barrier.wait();
        Instant::now()
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

/// Runs `main` on this thread and `partner` on a scoped thread; returns both results.
///
/// Each side must call [`Gate::open`] exactly once, before anything that can fail (a side that
/// panics before the gate leaves the other waiting). `main` times itself from the instant its
/// `open` returns. A panic of the partner is resumed here.
pub fn two_threads<A, B, M, P>(main: M, partner: P) -> (A, B)
where
    M: FnOnce(&Gate) -> A,
    P: FnOnce(&Gate) -> B + Send,
    B: Send,
{
    let gate = Gate {
        barrier: Barrier::new(2),
    };
    std::thread::scope(|s| {
        let partner = s.spawn(|| partner(&gate));
        let a = main(&gate);
        let b = partner
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Which way a [`Signal`] goes: `Ping` from the timed thread to the partner, `Pong` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Timed thread → partner.
    Ping,
    /// Partner → timed thread.
    Pong,
}

/// A counter that two threads hand back and forth, ping-ponged by [`ping_pong`].
pub trait Signal: Sync {
    /// A signal with the counter at 0.
    fn new() -> Self;

    /// Sets the counter to `value` and wakes the thread waiting on side `to`.
    fn publish(&self, to: Side, value: u32);

    /// Blocks on side `at` until the counter is `value`.
    fn wait_for(&self, at: Side, value: u32);

    /// The counter now.
    fn current(&self) -> u32;
}

/// Times `iters` round trips of a [`Signal`]: the timed thread publishes `2i + 1` and waits
/// for `2i + 2`; the partner waits for `2i + 1` and publishes `2i + 2`. A wait only ends on
/// the exact value, and the counter must end at `2 * iters`.
///
/// # Panics
///
/// When `iters` is 2³¹ or more (the counter is 32 bits, for the futex), or the counter ends
/// elsewhere.
pub fn ping_pong<S: Signal>(iters: u64) -> Duration {
    assert!(iters < 1 << 31, "too many iterations for a 32-bit counter");
    let iters = iters as u32;
    let signal = S::new();
    let (elapsed, ()) = two_threads(
        |gate| {
            let start = gate.open();
            for i in 0..iters {
                signal.publish(Side::Ping, 2 * i + 1);
                signal.wait_for(Side::Pong, 2 * i + 2);
            }
            start.elapsed()
        },
        |gate| {
            gate.open();
            for i in 0..iters {
                signal.wait_for(Side::Ping, 2 * i + 1);
                signal.publish(Side::Pong, 2 * i + 2);
            }
        },
    );
    assert_eq!(signal.current(), 2 * iters);
    elapsed
}

/// The spin floor: one `AtomicU64`, both sides spin on it with `spin_loop` and never yield.
#[derive(Debug, Default)]
pub struct RawSpin {
    word: AtomicU64,
}

impl Signal for RawSpin {
    fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn publish(&self, _to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`.
        self.word.store(u64::from(value), Ordering::Release);
    }

    #[inline]
    fn wait_for(&self, _at: Side, value: u32) {
        // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
        while self.word.load(Ordering::Acquire) != u64::from(value) {
            core::hint::spin_loop();
        }
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.word.load(Ordering::Relaxed) as u32
    }
}

/// The futex floor: one `AtomicU32`; a waiter parks at once with `FUTEX_WAIT` (no spinning),
/// and every publish makes a `FUTEX_WAKE` syscall (no waiter bookkeeping).
#[cfg(target_os = "linux")]
#[derive(Debug, Default)]
pub struct RawFutex {
    word: AtomicU32,
}

#[cfg(target_os = "linux")]
impl Signal for RawFutex {
    fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn publish(&self, _to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`.
        self.word.store(value, Ordering::Release);
        // SAFETY: FUTEX_WAKE only reads the address, which points to our live, aligned
        // `AtomicU32`; the extra arguments are ignored by FUTEX_WAKE.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    #[inline]
    fn wait_for(&self, _at: Side, value: u32) {
        loop {
            // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
            let seen = self.word.load(Ordering::Acquire);
            if seen == value {
                return;
            }
            // SAFETY: the address points to our live, aligned `AtomicU32`; a null timeout
            // waits without limit. The kernel re-checks `seen` atomically and returns EAGAIN if
            // the word changed; EINTR and spurious returns are handled by the loop.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.word.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    seen,
                    core::ptr::null::<libc::timespec>(),
                );
            }
        }
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.word.load(Ordering::Relaxed)
    }
}

/// Two [`Event`]s of backend `B` (`ping`, `pong`) and the counter they announce: the round
/// trip of the `events` benchmark.
pub struct EventSignal<B: Backend> {
    counter: AtomicU64,
    ping: Event<B>,
    pong: Event<B>,
}

impl<B: Backend> EventSignal<B> {
    fn event(&self, side: Side) -> &Event<B> {
        match side {
            Side::Ping => &self.ping,
            Side::Pong => &self.pong,
        }
    }
}

impl<B: Backend> Signal for EventSignal<B> {
    fn new() -> Self {
        Self {
            counter: AtomicU64::new(0),
            ping: Event::new(),
            pong: Event::new(),
        }
    }

    #[inline]
    fn publish(&self, to: Side, value: u32) {
        // ORDERING: Release, pairs with the Acquire load in the other thread's `wait_for`
        // condition; the activation after it is the event's own business.
        self.counter.store(u64::from(value), Ordering::Release);
        self.event(to).activate();
    }

    #[inline]
    fn wait_for(&self, at: Side, value: u32) {
        self.event(at).wait_until(|| {
            // ORDERING: Acquire, pairs with the Release store of the other thread's `publish`.
            self.counter.load(Ordering::Acquire) == u64::from(value)
        });
    }

    fn current(&self) -> u32 {
        // ORDERING: Relaxed: read after both threads were joined (the join synchronises).
        self.counter.load(Ordering::Relaxed) as u32
    }
}

impl<B: Backend> fmt::Debug for EventSignal<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSignal")
            .field("backend", &B::NAME)
            .finish_non_exhaustive()
    }
}

/// Times `iters` round trips through two crossbeam-channel channels of capacity `cap`: the
/// timed thread sends `i` and asserts that `i + 1` comes back; the partner answers until the
/// first channel disconnects, and must have answered `iters` times.
pub fn crossbeam_round_trips(iters: u64, cap: usize) -> Duration {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(cap);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(cap);
    round_trips(
        iters,
        move |v| ping_tx.send(v).unwrap(),
        move || pong_rx.recv().unwrap(),
        move || ping_rx.recv().ok(),
        move |v| pong_tx.send(v).unwrap(),
    )
}

/// `iters` round trips between two threads through two one-way channels given as closures:
/// the timed thread sends `i` with `send_ping` and expects `i + 1` from `recv_pong`; the
/// partner answers every value `recv_ping` yields until it yields `None`, which it must do
/// once the timed side's closures are dropped (their sender with them). Asserts every reply
/// and that the partner answered `iters` times; returns the timed thread's elapsed time.
pub fn round_trips(
    iters: u64,
    mut send_ping: impl FnMut(u64),
    mut recv_pong: impl FnMut() -> u64,
    mut recv_ping: impl FnMut() -> Option<u64> + Send,
    mut send_pong: impl FnMut(u64) + Send,
) -> Duration {
    let (elapsed, answered) = two_threads(
        move |gate| {
            let start = gate.open();
            for i in 0..iters {
                send_ping(i);
                assert_eq!(recv_pong(), i + 1);
            }
            let elapsed = start.elapsed();
            // Dropping the ping sender ends the partner's loop.
            drop(send_ping);
            elapsed
        },
        move |gate| {
            gate.open();
            let mut answered = 0u64;
            while let Some(v) = recv_ping() {
                send_pong(v + 1);
                answered += 1;
            }
            answered
        },
    );
    assert_eq!(answered, iters);
    elapsed
}

/// `iters` one-element round trips ([`round_trips`]) through two native streams with backend
/// `B`: `send` one way, `recv` the other.
pub fn round_trip_native<B: Backend>(iters: u64) -> Duration {
    let (mut ping_w, mut ping_r) = stream_with::<u64, B>();
    let (mut pong_w, mut pong_r) = stream_with::<u64, B>();
    round_trips(
        iters,
        move |v| ping_w.send(v).unwrap(),
        move || pong_r.recv().unwrap(),
        move || ping_r.recv().ok(),
        move |v| pong_w.send(v).unwrap(),
    )
}

/// Buffers in flight in the crossbeam rows of `stream_bulk_u8`.
pub const CROSSBEAM_POOL: usize = 2;

/// Times the transfer of `total` bytes of `pattern` as recycled 64 KiB blocks over crossbeam
/// channels: two blocks circulate, full ones over one `bounded(2)` channel and empty ones back
/// over another; the partner fills one from the pattern while the timed thread checks the
/// other in place. One copy per byte, the same work as a stream.
pub fn bulk_u8_crossbeam(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_crossbeam_with(pattern, total, false)
}

/// The crossbeam row for a reader that wants the bytes in its own buffer (where a stream
/// puts them): as [`bulk_u8_crossbeam`], but the reader copies each block into its own
/// 64 KiB block and checks that copy. Each byte is copied twice, once on each side.
pub fn bulk_u8_crossbeam_copy(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_crossbeam_with(pattern, total, true)
}

/// [`bulk_u8_crossbeam`], or with `copy_out` [`bulk_u8_crossbeam_copy`].
fn bulk_u8_crossbeam_with(pattern: &BytePattern, total: u64, copy_out: bool) -> Duration {
    bulk_u8_crossbeam_laps::<()>(pattern, total, copy_out).elapsed
}

/// The crossbeam rows with the time of each side split by `L` (see [`BulkLaps`]): the
/// reader waits in `recv` and works on copying out (with `copy_out`), returning and checking
/// the block; the writer waits for an empty block and works on filling and sending it.
fn bulk_u8_crossbeam_laps<L: Laps>(
    pattern: &BytePattern,
    total: u64,
    copy_out: bool,
) -> BulkLaps<L> {
    let (full_tx, full_rx) = crossbeam_channel::bounded::<AlignedBlock>(CROSSBEAM_POOL);
    let (empty_tx, empty_rx) = crossbeam_channel::bounded::<AlignedBlock>(CROSSBEAM_POOL);
    for _ in 0..CROSSBEAM_POOL {
        empty_tx.send(AlignedBlock::new()).unwrap();
    }
    let ((elapsed, reader), writer) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut own = AlignedBlock::new();
            let mut laps = L::default();
            let start = gate.open();
            laps.start();
            while let Ok(block) = full_rx.recv() {
                laps.waited();
                if copy_out {
                    own.fill_from(block.as_bytes());
                    // Fails only once the writer is done and gone; the block is then not
                    // needed.
                    let _ = empty_tx.send(block);
                    check.check(own.as_bytes());
                } else {
                    check.check(block.as_bytes());
                    let _ = empty_tx.send(block);
                }
                laps.worked();
            }
            let elapsed = start.elapsed();
            check.finish(total);
            (elapsed, laps)
        },
        move |gate| {
            let mut laps = L::default();
            gate.open();
            laps.start();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let mut block = empty_rx.recv().unwrap();
                laps.waited();
                block.fill_from(&rest[..want]);
                full_tx.send(block).unwrap();
                laps.worked();
                offset += want as u64;
            }
            // Dropping `full_tx` disconnects: the reader's loop ends.
            laps
        },
    );
    BulkLaps {
        elapsed,
        reader,
        writer,
    }
}

/// Elements per lent buffer (and rtrb / crossbeam capacity) in `stream_bulk_u64`.
pub const U64_BATCH: usize = 1024;

/// The native rows of `stream_bulk_u64`: with `read_ahead`, the reader is a [`ReadAhead`]
/// with two 1024-element buffers (it lends one while it checks the other); without, it reads
/// into one reused 1024-element buffer with [`Reader::read`](stream_core::Reader::read).
pub fn bulk_u64_native<B: Backend>(total: u64, read_ahead: bool) -> Duration {
    let (mut writer, mut reader) = stream_with::<u64, B>();
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = U64Check::new();
            if read_ahead {
                let mut reader = ReadAhead::new(reader, U64_BATCH);
                let start = gate.open();
                drain_read_ahead(&mut reader, |chunk| check.check(chunk));
                let elapsed = start.elapsed();
                check.finish(total);
                return elapsed;
            }
            let mut buf = vec![MaybeUninit::<u64>::uninit(); U64_BATCH];
            let start = gate.open();
            loop {
                match reader.read(&mut buf) {
                    // SAFETY: `read` initialised the first `n` elements of `buf`.
                    Ok(n) => check.check(unsafe { assume_init(&buf, n) }),
                    Err(ReadError::Closed) => break,
                    Err(e) => panic!("read failed: {e:?}"),
                }
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            let mut next = 0u64;
            while next < total {
                let mut loan = writer.loan().unwrap();
                let n = loan.capacity().min((total - next) as usize);
                for (k, slot) in loan.as_uninit_mut()[..n].iter_mut().enumerate() {
                    slot.write(next + k as u64);
                }
                // SAFETY: the first `n` elements of the loan were written just above.
                unsafe { loan.commit(n) };
                next += n as u64;
            }
        },
    );
    elapsed
}

/// Hands every chunk of `reader` to `on_chunk` until end of stream.
///
/// # Panics
///
/// When a read fails otherwise.
fn drain_read_ahead<T: Copy, B: Backend>(
    reader: &mut ReadAhead<T, B>,
    mut on_chunk: impl FnMut(&[T]),
) {
    loop {
        match reader.next_chunk() {
            Ok(chunk) => on_chunk(chunk),
            Err(ReadError::Closed) => return,
            Err(e) => panic!("read failed: {e:?}"),
        }
    }
}

/// `total` `u64`s through a 1024-slot rtrb ring with single `push`/`pop`, both sides
/// spinning; the timed thread checks them with [`U64Check`].
pub fn bulk_u64_rtrb(total: u64) -> Duration {
    let (mut producer, mut consumer) = RingBuffer::<u64>::new(U64_BATCH);
    bulk_u64_one_by_one(
        total,
        move |v| assert!(push_spin(&mut producer, v)),
        move || pop_spin(&mut consumer),
    )
}

/// `total` `u64`s sent one at a time: the partner `send`s `0..total` and drops `send` (which
/// must end the stream); the timed thread takes them with `recv` until it returns `None`
/// and checks them with [`U64Check`].
pub fn bulk_u64_one_by_one(
    total: u64,
    mut send: impl FnMut(u64) + Send,
    mut recv: impl FnMut() -> Option<u64> + Send,
) -> Duration {
    let (elapsed, ()) = two_threads(
        move |gate| {
            let mut check = U64Check::new();
            let start = gate.open();
            while let Some(v) = recv() {
                check.check_one(v);
            }
            let elapsed = start.elapsed();
            check.finish(total);
            elapsed
        },
        move |gate| {
            gate.open();
            for v in 0..total {
                send(v);
            }
        },
    );
    elapsed
}

/// Times the transfer of `total` bytes of `pattern` through a blocking stream with backend
/// `B`: the timed thread lends one reused 64 KiB [`AlignedBlock`] and checks every chunk in
/// place with [`ByteCheck`]; the partner `write_slice`s from the pattern into it.
pub fn bulk_u8_stream<B: Backend>(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_native::<B>(pattern, total, false)
}

/// The native rows of `stream_bulk_u8`: as [`bulk_u8_stream`], but the timed thread reads
/// with a [`ReadAhead`] of two page-aligned 64 KiB buffers, so it checks each chunk while the
/// writer `write_slice`s the next one into the other buffer.
pub fn bulk_u8_read_ahead<B: Backend>(pattern: &BytePattern, total: u64) -> Duration {
    bulk_u8_native::<B>(pattern, total, true)
}

/// [`bulk_u8_stream`], or with `read_ahead` [`bulk_u8_read_ahead`].
fn bulk_u8_native<B: Backend>(pattern: &BytePattern, total: u64, read_ahead: bool) -> Duration {
    bulk_u8_native_laps::<B, ()>(pattern, total, read_ahead).elapsed
}

/// The native rows with the time of each side split by `L` (see [`BulkLaps`]): the reader
/// waits for a chunk and works on checking it; the writer waits for a loan and works on
/// copying into it and committing (what `write_slice` does, in two steps).
fn bulk_u8_native_laps<B: Backend, L: Laps>(
    pattern: &BytePattern,
    total: u64,
    read_ahead: bool,
) -> BulkLaps<L> {
    let (mut writer, mut reader) = stream_with::<u8, B>();
    let ((elapsed, reader), writer) = two_threads(
        move |gate| {
            let mut check = ByteCheck::new(pattern);
            let mut laps = L::default();
            if read_ahead {
                let mut reader = ReadAhead::new(reader, BLOCK);
                let start = gate.open();
                laps.start();
                drain_read_ahead(&mut reader, |chunk| {
                    laps.waited();
                    check.check(chunk);
                    laps.worked();
                });
                let elapsed = start.elapsed();
                check.finish(total);
                return (elapsed, laps);
            }
            let mut buf = AlignedBlock::new();
            let start = gate.open();
            laps.start();
            loop {
                match reader.read(buf.as_uninit_mut()) {
                    Ok(n) => {
                        laps.waited();
                        // SAFETY: `read` initialised the first `n` bytes of the block.
                        unsafe { buf.set_len(n) };
                        check.check(buf.as_bytes());
                        laps.worked();
                    }
                    Err(ReadError::Closed) => break,
                    Err(e) => panic!("read failed: {e:?}"),
                }
            }
            let elapsed = start.elapsed();
            check.finish(total);
            (elapsed, laps)
        },
        move |gate| {
            let mut laps = L::default();
            gate.open();
            laps.start();
            let mut offset = 0u64;
            while offset < total {
                let rest = pattern.rest_of_block(offset);
                let want = rest.len().min((total - offset) as usize);
                let loan = writer.loan().unwrap();
                laps.waited();
                offset += loan.copy_from_slice(&rest[..want]) as u64;
                laps.worked();
            }
            // Dropping `writer` closes the stream: the reader's next read is `Closed`.
            laps
        },
    );
    BulkLaps {
        elapsed,
        reader,
        writer,
    }
}

/// A row of [`bulk_u8_breakdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkRow {
    /// [`bulk_u8_read_ahead`].
    ReadAhead,
    /// [`bulk_u8_stream`].
    OneBuffer,
    /// [`bulk_u8_crossbeam`].
    CrossbeamInPlace,
    /// [`bulk_u8_crossbeam_copy`].
    CrossbeamCopy,
}

/// Runs one `stream_bulk_u8` row (the native ones with backend `B`) with each side's time
/// split into waiting for a block and working on it: where a row's time goes, block by block,
/// for the `bulk_breakdown` example.
///
/// The rows run the same loops as the benches: those instantiate them with laps that do
/// nothing, this with [`Stopwatch`] laps (two clock reads per 64 KiB block and side).
pub fn bulk_u8_breakdown<B: Backend>(
    pattern: &BytePattern,
    total: u64,
    row: BulkRow,
) -> BulkLaps<Stopwatch> {
    match row {
        BulkRow::ReadAhead => bulk_u8_native_laps::<B, _>(pattern, total, true),
        BulkRow::OneBuffer => bulk_u8_native_laps::<B, _>(pattern, total, false),
        BulkRow::CrossbeamInPlace => bulk_u8_crossbeam_laps(pattern, total, false),
        BulkRow::CrossbeamCopy => bulk_u8_crossbeam_laps(pattern, total, true),
    }
}

/// A bulk row's time (the reader's, as the benches time it) and each side's [`Laps`].
#[derive(Debug)]
pub struct BulkLaps<L> {
    /// From the gate to the reader's end of stream.
    pub elapsed: Duration,
    /// The reader's laps.
    pub reader: L,
    /// The writer's laps.
    pub writer: L,
}

/// Splits one side of a bulk row into waiting for each block and working on it.
///
/// The bulk loops call [`start`](Laps::start) at the gate, then for each block
/// [`waited`](Laps::waited) when the block is theirs and [`worked`](Laps::worked) when they
/// are done with it. The benches use `()`, which does nothing (and compiles to nothing).
pub trait Laps: Default + Send {
    /// The side leaves the gate.
    fn start(&mut self);
    /// The wait for a block ends; the work on it starts.
    fn waited(&mut self);
    /// The work on a block ends; the wait for the next starts.
    fn worked(&mut self);
}

impl Laps for () {
    #[inline(always)]
    fn start(&mut self) {}
    #[inline(always)]
    fn waited(&mut self) {}
    #[inline(always)]
    fn worked(&mut self) {}
}

/// [`Laps`] that sum the time spent waiting and working, and count the blocks.
#[derive(Debug, Default)]
pub struct Stopwatch {
    last: Option<Instant>,
    wait: Duration,
    work: Duration,
    blocks: u64,
}

impl Stopwatch {
    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let lap = self.last.map_or(Duration::ZERO, |last| now - last);
        self.last = Some(now);
        lap
    }

    /// Mean wait per block.
    pub fn wait_per_block(&self) -> Duration {
        self.wait / self.blocks.max(1) as u32
    }

    /// Mean work per block.
    pub fn work_per_block(&self) -> Duration {
        self.work / self.blocks.max(1) as u32
    }

    /// Blocks worked on.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }
}

impl Laps for Stopwatch {
    fn start(&mut self) {
        self.lap();
    }

    fn waited(&mut self) {
        let lap = self.lap();
        self.wait += lap;
    }

    fn worked(&mut self) {
        let lap = self.lap();
        self.work += lap;
        self.blocks += 1;
    }
}

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

/// Pushes `value` into an rtrb ring, spinning while the ring is full; gives up (returns
/// `false`) if the consumer is gone.
#[inline]
pub fn push_spin<T>(producer: &mut Producer<T>, mut value: T) -> bool {
    loop {
        match producer.push(value) {
            Ok(()) => return true,
            Err(PushError::Full(back)) => {
                if producer.is_abandoned() {
                    return false;
                }
                value = back;
                core::hint::spin_loop();
            }
        }
    }
}

/// Pops a value from an rtrb ring, spinning while it is empty; `None` once it is empty and the producer
/// is gone.
#[inline]
pub fn pop_spin<T>(consumer: &mut Consumer<T>) -> Option<T> {
    loop {
        if let Ok(value) = consumer.pop() {
            return Some(value);
        }
        if consumer.is_abandoned() {
            // The producer may have pushed just before it left.
            return consumer.pop().ok();
        }
        core::hint::spin_loop();
    }
}

/// Slots of the rtrb ring that carries receivers (or boxes) in `future/pipelined`.
pub const PIPELINE: usize = 64;

/// The `future/pipelined` pattern: the partner thread makes an item for each `i` with
/// `make(i)` and pushes it into a [`PIPELINE`]-slot rtrb ring (spinning while it is full);
/// the timed thread pops each item (spinning while the ring is empty), asserts that
/// `take(item)` gives `i` back, and drops what is left of it. Returns the timed thread's
/// elapsed time.
///
/// # Panics
///
/// When an item gives back the wrong value, or a side leaves early.
pub fn pipelined_ring<T: Send>(
    iters: u64,
    mut make: impl FnMut(u64) -> T + Send,
    mut take: impl FnMut(T) -> u64,
) -> Duration {
    let (mut producer, mut consumer) = RingBuffer::<T>::new(PIPELINE);
    let (elapsed, ()) = two_threads(
        move |gate| {
            let start = gate.open();
            for i in 0..iters {
                let item = pop_spin(&mut consumer).expect("producer gone early");
                assert_eq!(take(item), i);
            }
            let elapsed = start.elapsed();
            assert!(pop_spin(&mut consumer).is_none(), "more items than sent");
            elapsed
        },
        move |gate| {
            gate.open();
            for i in 0..iters {
                assert!(push_spin(&mut producer, make(i)), "consumer gone");
            }
        },
    );
    elapsed
}

/// The allocation floor of `future/pipelined` for a block of `W` words
/// ([`pipelined_ring`]): the partner thread boxes `[i; W]` (writing every word, as a
/// future's creation initialises its block); the timed thread reads word 0 and frees the
/// box. The same allocation, cross-thread free and ring as a one-shot channel, without the
/// channel.
///
/// Two sizes tell what a future's block costs against `oneshot`'s: `W = 5` (40 bytes) comes
/// from glibc's 48-byte chunks, as `oneshot`'s channel of a `u64` (32 to 40 bytes) does;
/// `W = 14` (112 bytes, a 128-byte chunk) is the block of a `stream_future` future of a
/// `u64`: the 64-byte, 64-byte-aligned stream header placed in a 16-byte-aligned block, up
/// to 48 bytes in.
pub fn pipelined_box<const W: usize>(iters: u64) -> Duration {
    pipelined_ring(iters, |i| Box::new([i; W]), |block| block[0])
}

/// Copies `src` into the front of `dst`, initialising it.
///
/// # Panics
///
/// When `src` is longer than `dst`.
#[inline]
pub fn copy_to_uninit<T: Copy>(dst: &mut [MaybeUninit<T>], src: &[T]) {
    assert!(src.len() <= dst.len(), "source longer than destination");
    // SAFETY: `dst` has room for `src.len()` elements (asserted), `MaybeUninit<T>` has the
    // layout of `T`, and a `&mut` and a `&` slice never overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<T>(), src.len());
    }
}

/// The first `len` elements of `buf`, which the caller has seen initialised.
///
/// # Safety
///
/// The first `len` elements of `buf` are initialised (a read returned `len`).
#[inline]
pub unsafe fn assume_init<T>(buf: &[MaybeUninit<T>], len: usize) -> &[T] {
    let init = &buf[..len];
    // SAFETY: the caller guarantees that these `len` elements are initialised, and
    // `MaybeUninit<T>` has the layout of `T`.
    unsafe { core::slice::from_raw_parts(init.as_ptr().cast::<T>(), len) }
}

/// Bytes in a page, the unit of the alignment that [`AlignedBlock`] controls.
pub const PAGE: usize = 4096;

/// One page of storage.
#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Page([MaybeUninit<u8>; PAGE]);

/// A heap buffer of [`BLOCK`] bytes that starts a chosen number of bytes after a page boundary,
/// of which the first [`len`](Self::len) are initialised.
///
/// Copy speed depends on where source and destination sit relative to each other within a
/// page (on the AMD EPYC these benches were written on, glibc's `memcpy` of 64 KiB runs at
/// about 37 GB/s when `dst - src` is 0 mod 4096 but at about 2.4 GB/s when it is 16, which is
/// where two `malloc`ed 64 KiB buffers tend to land). So every bulk row copies between
/// buffers at the same page offset: all of ours are page-aligned, and the rtrb row uses a
/// [`BytePattern`] at the page offset of rtrb's ring.
pub struct AlignedBlock {
    pages: Box<[Page]>,
    offset: usize,
    len: usize,
}

impl AlignedBlock {
    /// An empty, page-aligned block.
    pub fn new() -> Self {
        Self::with_page_offset(0)
    }

    /// An empty block that starts `offset` bytes after a page boundary.
    ///
    /// # Panics
    ///
    /// When `offset` is not less than [`PAGE`].
    pub fn with_page_offset(offset: usize) -> Self {
        assert!(offset < PAGE, "page offset {offset} out of range");
        let pages = vec![Page([MaybeUninit::uninit(); PAGE]); BLOCK / PAGE + 1].into_boxed_slice();
        Self {
            pages,
            offset,
            len: 0,
        }
    }

    /// The whole block, uninitialised as far as the caller knows: it forgets the contents
    /// ([`len`](Self::len) becomes 0). Hand it to a read, then [`set_len`](Self::set_len).
    #[inline]
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        self.len = 0;
        let (offset, pages) = (self.offset, &mut self.pages);
        // SAFETY: `Page` is `repr(C)` around a byte array, so the pages are `pages.len() *
        // PAGE` contiguous `MaybeUninit<u8>`s, borrowed mutably through `self`.
        let storage = unsafe {
            core::slice::from_raw_parts_mut(
                pages.as_mut_ptr().cast::<MaybeUninit<u8>>(),
                pages.len() * PAGE,
            )
        };
        &mut storage[offset..offset + BLOCK]
    }

    /// Declares the first `len` bytes initialised.
    ///
    /// # Safety
    ///
    /// The first `len` bytes were written since the last [`as_uninit_mut`](Self::as_uninit_mut)
    /// (a read returned `len`), and `len <= BLOCK`.
    #[inline]
    pub unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= BLOCK);
        self.len = len;
    }

    /// Copies `src` into the start of the block; [`len`](Self::len) becomes `src.len()`.
    ///
    /// # Panics
    ///
    /// When `src` is longer than [`BLOCK`].
    #[inline]
    pub fn fill_from(&mut self, src: &[u8]) {
        copy_to_uninit(self.as_uninit_mut(), src);
        // SAFETY: `copy_to_uninit` initialised `src.len()` bytes (it panics if they do not fit).
        unsafe { self.set_len(src.len()) };
    }

    /// How many bytes from the start are initialised.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is initialised.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The initialised bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes from `offset` are initialised (`set_len`'s contract);
        // `offset + len` is within the pages (`offset < PAGE`, `len <= BLOCK`).
        unsafe {
            core::slice::from_raw_parts(self.pages.as_ptr().cast::<u8>().add(self.offset), self.len)
        }
    }

    /// The initialised bytes, mutably (for reads that want initialised memory: fill the block
    /// once first, for example with [`fill_from`](Self::fill_from)).
    #[inline]
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_bytes`, with the exclusive borrow of `self`.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.pages.as_mut_ptr().cast::<u8>().add(self.offset),
                self.len,
            )
        }
    }
}

impl Default for AlignedBlock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AlignedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBlock")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Wrapping sum of `bytes`, fast: each 256-byte piece is summed in `u16` lanes (256 × 255 <
/// 2¹⁶, so no lane overflows), which LLVM vectorises.
///
/// Never inlined: the bulk rows are often bound by this check, so every row runs the same
/// machine code. Inlined, each row had its own copy of the loop, and two builds that differed
/// only in other functions ran crossbeam's rows at 6.7 and 9.5 GiB/s (same machine, same
/// minute, native rows equal); one shared copy rules its placement out as a cause.
#[inline(never)]
pub fn byte_sum(bytes: &[u8]) -> u64 {
    bytes
        .chunks(256)
        .map(|piece| {
            u64::from(
                piece
                    .iter()
                    .fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b))),
            )
        })
        .fold(0, u64::wrapping_add)
}

const PATTERN_BLOCKS: usize = 7;

/// The byte stream of the bulk benchmarks: byte `i` is byte `i % BLOCK` of block
/// `(i / BLOCK) % 7` of seven fixed pseudo-random [`BLOCK`]-sized blocks.
pub struct BytePattern {
    blocks: Vec<AlignedBlock>,
    sums: Vec<u64>,
}

impl BytePattern {
    /// The pattern (always the same seed), in page-aligned blocks.
    pub fn new() -> Self {
        Self::with_page_offset(0)
    }

    /// The pattern in blocks that start `offset` bytes after a page boundary (see
    /// [`AlignedBlock`] for why).
    ///
    /// # Panics
    ///
    /// When `offset` is not less than [`PAGE`].
    pub fn with_page_offset(offset: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(0x6e61_7469_7665);
        let blocks: Vec<AlignedBlock> = (0..PATTERN_BLOCKS)
            .map(|_| {
                let bytes: Vec<u8> = (0..BLOCK).map(|_| rng.u8(..)).collect();
                let mut block = AlignedBlock::with_page_offset(offset);
                block.fill_from(&bytes);
                block
            })
            .collect();
        let sums = blocks.iter().map(|b| byte_sum(b.as_bytes())).collect();
        Self { blocks, sums }
    }

    /// The bytes of the stream from `offset` to the end of the block that holds it (at most
    /// [`BLOCK`] bytes, at least 1).
    #[inline]
    pub fn rest_of_block(&self, offset: u64) -> &[u8] {
        let block = (offset / BLOCK as u64 % PATTERN_BLOCKS as u64) as usize;
        &self.blocks[block].as_bytes()[(offset % BLOCK as u64) as usize..]
    }

    /// Byte `offset` of the stream.
    #[inline]
    pub fn byte_at(&self, offset: u64) -> u8 {
        self.rest_of_block(offset)[0]
    }

    /// The wrapping [`byte_sum`] of the first `total` bytes of the stream.
    pub fn expected_sum(&self, total: u64) -> u64 {
        let full = total / BLOCK as u64;
        let n = PATTERN_BLOCKS as u64;
        let mut sum = 0u64;
        for (j, block_sum) in self.sums.iter().enumerate() {
            let times = full / n + u64::from((j as u64) < full % n);
            sum = sum.wrapping_add(block_sum.wrapping_mul(times));
        }
        let tail = (total % BLOCK as u64) as usize;
        let last = &self.rest_of_block(full * BLOCK as u64)[..tail];
        sum.wrapping_add(byte_sum(last))
    }
}

impl Default for BytePattern {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BytePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BytePattern")
            .field("blocks", &self.blocks)
            .finish()
    }
}

/// The reader's check of a [`BytePattern`] stream, chunk by chunk: the first and last byte of
/// every chunk must be the pattern's at that position, and at the end the count and the
/// [`byte_sum`] of everything received must match.
#[derive(Debug)]
pub struct ByteCheck<'a> {
    pattern: &'a BytePattern,
    offset: u64,
    sum: u64,
}

impl<'a> ByteCheck<'a> {
    /// A check at offset 0.
    pub fn new(pattern: &'a BytePattern) -> Self {
        Self {
            pattern,
            offset: 0,
            sum: 0,
        }
    }

    /// Checks the next `chunk` of the stream.
    ///
    /// # Panics
    ///
    /// When its first or last byte is not the pattern's.
    #[inline]
    pub fn check(&mut self, chunk: &[u8]) {
        let len = chunk.len() as u64;
        if let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) {
            assert_eq!(
                first,
                self.pattern.byte_at(self.offset),
                "at {}",
                self.offset
            );
            let end = self.offset + len - 1;
            assert_eq!(last, self.pattern.byte_at(end), "at {end}");
        }
        self.sum = self.sum.wrapping_add(byte_sum(chunk));
        self.offset += len;
    }

    /// Asserts that exactly `total` bytes were checked and that their sum is right.
    ///
    /// # Panics
    ///
    /// When the count or the sum is wrong.
    pub fn finish(self, total: u64) {
        assert_eq!(self.offset, total, "byte count");
        assert_eq!(self.sum, self.pattern.expected_sum(total), "byte checksum");
    }
}

/// The reader's check of the `u64` stream `0, 1, 2, …`: the first and last element of every
/// chunk must be in place, and at the end the count and the wrapping sum must match.
#[derive(Debug, Default)]
pub struct U64Check {
    next: u64,
    sum: u64,
}

impl U64Check {
    /// A check expecting 0 next.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next `chunk` of the stream.
    ///
    /// # Panics
    ///
    /// When its first or last element is out of place.
    #[inline]
    pub fn check(&mut self, chunk: &[u64]) {
        if let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) {
            assert_eq!(first, self.next);
            assert_eq!(last, self.next + chunk.len() as u64 - 1);
        }
        self.sum = chunk.iter().fold(self.sum, |s, &v| s.wrapping_add(v));
        self.next += chunk.len() as u64;
    }

    /// Checks the next element of the stream (a chunk of one).
    ///
    /// # Panics
    ///
    /// When `value` is out of place.
    #[inline]
    pub fn check_one(&mut self, value: u64) {
        assert_eq!(value, self.next);
        self.sum = self.sum.wrapping_add(value);
        self.next += 1;
    }

    /// Asserts that exactly `total` elements were checked and that their sum is right.
    ///
    /// # Panics
    ///
    /// When the count or the sum is wrong.
    pub fn finish(self, total: u64) {
        assert_eq!(self.next, total, "element count");
        let expected = (u128::from(total) * u128::from(total.saturating_sub(1)) / 2) as u64;
        assert_eq!(self.sum, expected, "element checksum");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount("4096"), Some(4096));
        assert_eq!(parse_amount("64Mi"), Some(64 << 20));
        assert_eq!(parse_amount("1G"), Some(1 << 30));
        assert_eq!(parse_amount("2KiB"), Some(2048));
        assert_eq!(parse_amount("x"), None);
        assert_eq!(parse_amount(""), None);
    }

    #[test]
    fn byte_check_accepts_the_pattern_in_any_chunking() {
        let pattern = BytePattern::new();
        let total = 3 * BLOCK as u64 + 1000;
        let mut all = Vec::new();
        let mut offset = 0;
        while offset < total {
            let rest = pattern.rest_of_block(offset);
            let n = rest.len().min((total - offset) as usize);
            all.extend_from_slice(&rest[..n]);
            offset += n as u64;
        }
        for chunk_len in [1, 7, 4096, BLOCK, 100_000] {
            let mut check = ByteCheck::new(&pattern);
            for chunk in all.chunks(chunk_len) {
                check.check(chunk);
            }
            check.finish(total);
        }
    }

    #[test]
    #[should_panic(expected = "at 65536")]
    fn byte_check_rejects_a_repeated_block() {
        let pattern = BytePattern::new();
        let mut check = ByteCheck::new(&pattern);
        check.check(pattern.rest_of_block(0));
        check.check(pattern.rest_of_block(0));
    }

    #[test]
    fn patterns_agree_at_any_page_offset() {
        let aligned = BytePattern::new();
        let shifted = BytePattern::with_page_offset(16);
        assert_eq!(
            aligned.rest_of_block(BLOCK as u64 + 5),
            shifted.rest_of_block(BLOCK as u64 + 5)
        );
        assert_eq!(aligned.rest_of_block(0).as_ptr() as usize % PAGE, 0);
        assert_eq!(shifted.rest_of_block(0).as_ptr() as usize % PAGE, 16);
        assert_eq!(aligned.expected_sum(1 << 20), shifted.expected_sum(1 << 20));
    }

    #[test]
    fn u64_check_accepts_the_sequence() {
        let values: Vec<u64> = (0..5000).collect();
        let mut check = U64Check::new();
        for chunk in values.chunks(1024) {
            check.check(chunk);
        }
        check.finish(5000);
    }

    #[test]
    fn ping_pongs_end_in_place() {
        ping_pong::<RawSpin>(1000);
        #[cfg(target_os = "linux")]
        ping_pong::<RawFutex>(1000);
        ping_pong::<EventSignal<stream_events::Futex>>(1000);
        assert!(crossbeam_round_trips(1000, 1) > Duration::ZERO);
    }

    #[test]
    fn breakdown_laps_every_block_of_every_row() {
        let pattern = BytePattern::new();
        // Ten and a half blocks: the last one is short.
        let total = 10 * BLOCK as u64 + BLOCK as u64 / 2;
        for row in [
            BulkRow::ReadAhead,
            BulkRow::OneBuffer,
            BulkRow::CrossbeamInPlace,
            BulkRow::CrossbeamCopy,
        ] {
            // The rows check every byte themselves (and panic on a wrong one).
            let laps = bulk_u8_breakdown::<stream_events::Spin>(&pattern, total, row);
            assert_eq!(laps.reader.blocks(), 11, "{row:?}");
            assert_eq!(laps.writer.blocks(), 11, "{row:?}");
            let reader_time = laps.reader.wait + laps.reader.work;
            assert!(reader_time > Duration::ZERO, "{row:?}");
            // The reader's laps cover its timed region, up to its last lap.
            assert!(reader_time <= laps.elapsed, "{row:?}: {laps:?}");
        }
    }

    #[test]
    fn stopwatch_splits_waits_from_work() {
        let mut watch = Stopwatch::default();
        watch.start();
        std::thread::sleep(Duration::from_millis(2));
        watch.waited();
        watch.worked();
        assert_eq!(watch.blocks(), 1);
        assert!(watch.wait_per_block() >= Duration::from_millis(2));
        assert!(watch.work_per_block() < watch.wait_per_block());
    }
}
