//! Loom models of the writer × reader action matrix, and of handle counting.
//!
//! `RUSTFLAGS="--cfg stream_loom" cargo test -p stream-core --test loom --release`.
//! `LOOM_MAX_PREEMPTIONS` bounds the search (default here: 3). Each model prints how many
//! interleavings it explored.
#![cfg(stream_loom)]

mod common;

use std::mem::MaybeUninit;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::matrix::{
    check, drops_len, reader_side, writer_side, ReaderAction, WriterAction, READER_ACTIONS,
    WRITER_ACTIONS,
};
use common::Drops;
use stream_core::{
    stream_with, BatchWriter, BufferedReader, ReadAhead, ReadError, TryReadError, WriteError,
    Writer,
};
use stream_events::Futex;

/// Runs `f` under loom and returns how many interleavings it explored.
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) -> usize {
    model_bounded(name, 3, f)
}

/// As [`model`], with `default_bound` preemptions unless `LOOM_MAX_PREEMPTIONS` is set.
fn model_bounded(name: &str, default_bound: usize, f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_bound);
    }
    // A clone that waits its turn behind a read-ahead's lend spins and parks as long as the
    // stream lasts: more branches than loom's default of 1 000.
    builder.max_branches = 20_000;
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f();
    });
    let n = runs.load(Relaxed);
    println!("loom model {name}: {n} interleavings");
    n
}

fn pair(wa: WriterAction, ra: ReaderAction) -> usize {
    model(&format!("matrix {wa:?} x {ra:?}"), move || {
        let drops = Drops::new(drops_len(wa));
        let (w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || writer_side(w, wa, &d));
        let r = reader_side(r, ra, Duration::ZERO);
        let w = writer.join().unwrap();
        check(wa, ra, w, r, &drops);
    })
}

/// Sends `0..n` until the reader end closes; a value the closed stream refused must come back
/// to the sender. Returns how many were sent.
fn send_until_closed(w: &mut Writer<u32, Futex>, n: u32) -> usize {
    for v in 0..n {
        match w.send(v) {
            Ok(()) => {}
            Err(WriteError::Closed(back)) => {
                assert_eq!(back, v);
                return v as usize;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    n as usize
}

/// Every pair of the matrix. Pairs in which neither side waits for the other explore few
/// interleavings by nature; the total shows the strength of the whole.
#[test]
fn matrix() {
    let mut total = 0;
    let mut weakest = usize::MAX;
    for wa in WRITER_ACTIONS {
        for ra in READER_ACTIONS {
            let n = pair(wa, ra);
            total += n;
            weakest = weakest.min(n);
        }
    }
    println!("loom matrix: {total} interleavings in all, weakest pair {weakest}");
    assert!(total >= 100 * 36, "matrix too weak: {total}");
}

/// Both ends' handles dropped concurrently, with clones: the header is freed once, after
/// every use (loom checks the cells touched before the free).
#[test]
fn concurrent_drops_free_once() {
    let n = model("concurrent drops", || {
        let (w, r) = stream_with::<u8, Futex>();
        let r2 = r.clone();
        let w2 = w.clone();
        let a = loom::thread::spawn(move || drop(r2));
        let b = loom::thread::spawn(move || drop(w2));
        drop(r);
        drop(w);
        a.join().unwrap();
        b.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A writer streaming several elements while the reader reads them one per read.
#[test]
fn stream_of_three() {
    let n = model("stream of three", || {
        let (mut w, mut r) = stream_with::<u32, Futex>();
        let t = loom::thread::spawn(move || {
            for i in 0..3 {
                w.send(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(r.recv(), Ok(i));
        }
        assert_eq!(r.recv(), Err(stream_core::ReadError::Closed));
        t.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A raw stream pointer that a loom thread may carry (each thread holds its own handle).
struct Handle(std::ptr::NonNull<stream_core::RawStream<Futex>>);
// SAFETY: the header is `Sync`; each `Handle` stands for a counted handle of its thread.
unsafe impl Send for Handle {}

/// Regression: a reader that reclaimed its buffer cleared the buffer fields after releasing
/// the reader end, racing the next reader's lend (found in review; loom reports the race on
/// the field's cell at once).
#[test]
fn reader_clones_reclaim_vs_lend() {
    use stream_core::RawStream;
    let n = model("reader clones reclaim vs lend", || {
        let raw = RawStream::<Futex>::create_stream();
        // SAFETY: we hold a reader handle.
        unsafe { RawStream::retain_reader(raw) }.unwrap();
        let other = Handle(raw);
        let read_and_cancel = |raw: std::ptr::NonNull<RawStream<Futex>>| {
            // SAFETY: the caller holds a reader handle.
            let h = unsafe { raw.as_ref() };
            let mut buf = [0u8; 4];
            for _ in 0..2 {
                // SAFETY: `buf` outlives the read, which `cancel_read` ends.
                if unsafe { h.start_reading(buf.as_mut_ptr().cast(), 4) }.is_ok() {
                    // SAFETY: our start succeeded.
                    unsafe { h.cancel_read() };
                }
            }
        };
        let t = loom::thread::spawn(move || {
            let other = other;
            read_and_cancel(other.0);
            // SAFETY: this thread's reader handle, released once.
            unsafe { RawStream::release_reader(other.0) };
        });
        read_and_cancel(raw);
        t.join().unwrap();
        // SAFETY: our handles, released once each.
        unsafe {
            RawStream::release_reader(raw);
            RawStream::release_writer(raw);
        }
    });
    assert!(n >= 100, "too weak: {n}");
}

/// Regression: `finish_writing(CLOSED)` from a writer handle that holds no buffer returned
/// the buffer another writer handle was writing into (found in review).
#[test]
fn finish_closed_from_other_writer_handle() {
    use stream_core::RawStream;
    let n = model("finish(CLOSED) from another writer handle", || {
        let raw = RawStream::<Futex>::create_stream();
        // SAFETY: we hold a writer handle.
        unsafe { RawStream::retain_writer(raw) }.unwrap();
        // SAFETY: we hold the reader handle.
        let h = unsafe { raw.as_ref() };
        let buf = loom::cell::UnsafeCell::new(0u32);
        // SAFETY: `buf` outlives the read, which `cancel_read` ends below.
        unsafe { h.start_reading(buf.with_mut(|p| p.cast()), 1) }.unwrap();
        let (p1, p2) = (Handle(raw), Handle(raw));
        let w1 = loom::thread::spawn(move || {
            let p1 = p1;
            // SAFETY: this thread holds a writer handle.
            let h = unsafe { p1.0.as_ref() };
            // SAFETY: we act for our handle and finish the write before releasing it.
            if let Ok((addr, n)) = unsafe { h.start_writing() } {
                assert_eq!(n, 1);
                // SAFETY: the taken buffer is one u32 (loom checks the cell's accesses).
                buf_write(addr, 7);
                // SAFETY: one element initialised.
                assert!(unsafe { h.finish_writing(1) });
            }
            // SAFETY: this thread's writer handle, released once.
            unsafe { RawStream::release_writer(p1.0) };
        });
        let w2 = loom::thread::spawn(move || {
            let p2 = p2;
            // SAFETY: this thread holds a writer handle (and no buffer).
            let h = unsafe { p2.0.as_ref() };
            // SAFETY: with CLOSED only a close.
            assert!(unsafe { h.finish_writing(stream_abi::CLOSED) });
            // SAFETY: this thread's writer handle, released once.
            unsafe { RawStream::release_writer(p2.0) };
        });
        // SAFETY: we own the pending read.
        let n = unsafe { h.cancel_read() };
        assert!(n <= 1);
        if n == 1 {
            assert_eq!(
                buf.with(|p| {
                    // SAFETY: the read ended with one element delivered.
                    unsafe { *p }
                }),
                7
            );
        }
        w1.join().unwrap();
        w2.join().unwrap();
        // SAFETY: our reader handle, released once.
        unsafe { RawStream::release_reader(raw) };
    });
    assert!(n >= 100, "too weak: {n}");
}

fn buf_write(addr: *mut core::ffi::c_void, v: u32) {
    // SAFETY: the caller owns the taken buffer, a live u32.
    unsafe { addr.cast::<u32>().write(v) }
}

/// A close happens before the other side's observation of it: what the closing side wrote
/// before closing is visible to the side that got `Closed` (the crate's documented guarantee;
/// kills the Relaxed-close mutants).
#[test]
fn close_happens_before_closed_result() {
    let n = model("close happens-before Closed", || {
        // Writer closes; reader observes end of stream.
        let note = std::sync::Arc::new(loom::cell::UnsafeCell::new(0u32));
        let (w, mut r) = stream_with::<u32, Futex>();
        let n2 = note.clone();
        let t = loom::thread::spawn(move || {
            // SAFETY: the reader reads `note` only after it sees the close below.
            n2.with_mut(|p| unsafe { *p = 1 });
            w.close();
            w
        });
        if r.recv() == Err(stream_core::ReadError::Closed) {
            // SAFETY: the close happened before our `Closed` result.
            assert_eq!(note.with(|p| unsafe { *p }), 1);
        }
        drop(t.join().unwrap());

        // Reader closes; writer observes it.
        let note = std::sync::Arc::new(loom::cell::UnsafeCell::new(0u32));
        let (mut w, r) = stream_with::<u32, Futex>();
        let n2 = note.clone();
        let t = loom::thread::spawn(move || {
            // SAFETY: the writer reads `note` only after it sees the close below.
            n2.with_mut(|p| unsafe { *p = 2 });
            r.close();
            r
        });
        if let Err(stream_core::WriteError::Closed(_)) = w.send(5) {
            // SAFETY: the close happened before our `Closed` result.
            assert_eq!(note.with(|p| unsafe { *p }), 2);
        }
        drop(t.join().unwrap());
    });
    assert!(n >= 100, "too weak: {n}");
}

/// Two reader clones on two threads both read while the writer sends two elements: the
/// clone that comes second waits its turn (never `Busy`) and each gets one element; when the
/// second clone starts right after the first finished, the reader end (and `ready_size`)
/// passes between them through the state word alone (kills the mutant that makes the
/// DONE -> IDLE hand-off Relaxed).
#[test]
fn reader_clones_take_turns() {
    // Three threads: two preemptions already explore about 10^5 interleavings.
    let n = model_bounded("reader clones take turns", 2, || {
        let (mut w, mut r1) = stream_with::<u32, Futex>();
        let mut r2 = r1.clone();
        let writer = loom::thread::spawn(move || {
            w.send(10).unwrap();
            w.send(11).unwrap();
        });
        // Neither read is refused: the later one waits its turn.
        let other = loom::thread::spawn(move || r2.recv().unwrap());
        let mine = r1.recv().unwrap();
        let mut got = vec![mine, other.join().unwrap()];
        writer.join().unwrap();
        got.sort();
        assert_eq!(got, [10, 11]);
    });
    assert!(n >= 100, "too weak: {n}");
}

/// The reader lends, gives up and lends again while the writer takes the buffer: the take
/// must acquire the lend it actually takes, not an earlier one with the same state value
/// (kills the Relaxed-take mutants, blocking and non-blocking).
#[test]
fn writer_takes_a_relent_buffer() {
    let n = model("writer takes a re-lent buffer", || {
        let (mut w, mut r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || {
            // Non-blocking first (start_writing), then blocking (wait + take).
            let mut v = 7;
            for _ in 0..2 {
                match w.try_send(v) {
                    Ok(()) => return true,
                    Err(e) => v = e.into_inner(),
                }
                loom::thread::yield_now();
            }
            w.send(v).unwrap();
            false
        });
        let mut buf = [core::mem::MaybeUninit::<u32>::uninit()];
        let mut got = None;
        for _ in 0..2 {
            if let Ok(1) = r.read_uninit_timeout(&mut buf, Duration::ZERO) {
                // SAFETY: one element was delivered.
                got = Some(unsafe { buf[0].assume_init() });
                break;
            }
        }
        let got = match got {
            Some(v) => v,
            None => r.recv().unwrap(),
        };
        assert_eq!(got, 7);
        writer.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// Regression: two writer handles; one commits and is dropped, the other is dropped; the
/// last writer's close must see the commit, not a stale "writing" phase (with a Relaxed
/// reading of the handle count it "returned" the committed buffer; found by loom).
#[test]
fn writer_clones_drop_after_commit() {
    let n = model_bounded("writer clones drop after commit", 2, || {
        let (mut w1, mut r) = stream_with::<u32, Futex>();
        let w2 = w1.clone();
        let t1 = loom::thread::spawn(move || {
            w1.send(4).unwrap();
        });
        let t2 = loom::thread::spawn(move || drop(w2));
        assert_eq!(r.recv(), Ok(4));
        assert_eq!(r.recv(), Err(stream_core::ReadError::Closed));
        t1.join().unwrap();
        t2.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// The writer is already waiting for a buffer when the reader lends, gives up and lends
/// again: the waiting writer's take must acquire the lend it takes (the state word holds the
/// same value for both lends, so only the take's own Acquire orders the second lend's
/// fields before the writer's reads of them).
#[test]
fn waiting_writer_takes_a_relent_buffer() {
    let n = model_bounded("waiting writer takes a re-lent buffer", 2, || {
        let (mut w, mut r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || w.send(9).unwrap());
        // Let the writer announce itself first (the Debug view shows WRITER_BUSY).
        while !format!("{:?}", r.raw()).contains("writer_busy: true") {
            loom::thread::yield_now();
        }
        let mut buf = [core::mem::MaybeUninit::<u32>::uninit()];
        let got = match r.read_uninit_timeout(&mut buf, Duration::ZERO) {
            // SAFETY: one element was delivered.
            Ok(1) => unsafe { buf[0].assume_init() },
            _ => r.recv().unwrap(),
        };
        assert_eq!(got, 9);
        writer.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A buffered reader leaves its lend pending (`try_fill`), takes what arrived by then, and is
/// dropped while the writer may be writing: the drop ends the read before it frees its buffer,
/// and every element is dropped exactly once (delivered and dropped with the buffer, or given
/// back to the writer).
#[test]
fn buffered_reader_dropped_while_lent() {
    let n = model("buffered reader dropped while lent", || {
        let drops = Drops::new(2);
        let (mut w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut items = d.make(0..2);
            let written = w.write_vec(&mut items);
            (written, items)
        });
        let mut reader = BufferedReader::new(r, 4);
        match reader.try_fill() {
            Ok(n) => assert_eq!(n, 2),
            Err(e) => assert_eq!(e, TryReadError::Empty),
        }
        drop(reader);
        let (written, rest) = writer.join().unwrap();
        match written {
            Ok(n) => assert_eq!((n, rest.len()), (2, 0)),
            Err(_) => assert_eq!(rest.len(), 2, "a failed write gives every element back"),
        }
        drop(rest);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A `ReadAhead` lends its second buffer as it hands out the first chunk, and is dropped with
/// that read pending while the writer may be copying into it: the drop waits for the commit
/// or reclaims the buffer, and every element the writer sent is accounted for (delivered, or
/// given back by a failed send).
#[test]
fn read_ahead_dropped_while_lent() {
    let n = model("read-ahead dropped while lent", || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || send_until_closed(&mut w, 2));
        let mut reader = ReadAhead::new(r, 1);
        assert_eq!(reader.next_chunk().unwrap(), [0]);
        // The second buffer is lent now (or the stream closed): drop with it pending.
        let cancelled = reader.cancel();
        drop(reader);
        let sent = writer.join().unwrap();
        assert_eq!(
            sent,
            1 + cancelled,
            "sent {sent}, cancel delivered {cancelled}"
        );
    });
    assert!(n >= 100, "too weak: {n}");
}

/// `ReadAhead` ends each read and lends its other buffer in one step
/// (`end_read_and_lend`), racing the writer's drop after its last commit (the closed flag may
/// appear between the reader's look at DONE and its CAS): every element arrives once, in
/// order, and the stream ends with `Closed`.
#[test]
fn read_ahead_relends_to_end() {
    let n = model("read-ahead relends to end", || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let writer = loom::thread::spawn(move || {
            for v in 0..3 {
                w.send(v).unwrap();
            }
        });
        let mut reader = ReadAhead::new(r, 1);
        let mut got = Vec::new();
        while let Ok(chunk) = reader.next_chunk() {
            got.extend_from_slice(chunk);
        }
        assert_eq!(got, [0, 1, 2]);
        assert!(!reader.is_pending());
        writer.join().unwrap();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A clone of the reader end closes it while a `ReadAhead` reads with one-step relends:
/// whatever the writer sent successfully is delivered, once and in order, and the rest comes
/// back to the writer.
#[test]
fn read_ahead_closed_by_a_clone() {
    // Three threads: bound 2 (bound 3 takes over ten minutes).
    let n = model_bounded("read-ahead closed by a clone", 2, || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let closer = r.clone();
        let writer = loom::thread::spawn(move || send_until_closed(&mut w, 2));
        let closing = loom::thread::spawn(move || {
            closer.close();
        });
        let mut reader = ReadAhead::new(r, 1);
        let mut got = Vec::new();
        while let Ok(chunk) = reader.next_chunk() {
            got.extend_from_slice(chunk);
        }
        closing.join().unwrap();
        let sent = writer.join().unwrap();
        assert!(
            got.iter().copied().eq(0..sent as u32),
            "sent {sent}, got {got:?}"
        );
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A clone of the reader end reads once (with its own buffer, through `start_reading`, as it
/// is not the only handle) and is dropped while a `ReadAhead` reads with one-step relends:
/// each element arrives once, at one of them; the clone waits its turn whenever the
/// read-ahead holds the reader end (its ring stays lent until end of stream, so then the clone
/// reads `Closed`).
#[test]
fn read_ahead_with_a_reading_clone() {
    // Three threads: bound 2.
    let n = model_bounded("read-ahead with a reading clone", 2, || {
        let (mut w, r) = stream_with::<u32, Futex>();
        let mut other = r.clone();
        let writer = loom::thread::spawn(move || {
            for v in 0..2 {
                w.send(v).unwrap();
            }
        });
        let clone = loom::thread::spawn(move || {
            let mut buf = [MaybeUninit::<u32>::uninit(); 1];
            let got = match other.read_uninit(&mut buf) {
                // SAFETY: a read that returned 1 initialised the first element.
                Ok(1) => Some(unsafe { buf[0].assume_init() }),
                Ok(n) => panic!("clone read {n}"),
                Err(ReadError::Busy | ReadError::Closed) => None,
                Err(e) => panic!("clone read: {e:?}"),
            };
            drop(other);
            got
        });
        let mut reader = ReadAhead::new(r, 1);
        let mut got = Vec::new();
        loop {
            match reader.next_chunk() {
                Ok(chunk) => got.extend_from_slice(chunk),
                Err(ReadError::Busy) => loom::thread::yield_now(),
                Err(ReadError::Closed) => break,
                Err(e) => panic!("read-ahead: {e:?}"),
            }
        }
        assert!(!reader.is_pending());
        let from_clone = clone.join().unwrap();
        writer.join().unwrap();
        assert!(got.windows(2).all(|p| p[0] < p[1]), "{got:?}");
        got.extend(from_clone);
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
    });
    assert!(n >= 100, "too weak: {n}");
}

/// The mixed matrix under loom: a Rust handle on one end (on a loom thread) beside C code on
/// the other end acting through the stream functions with its own counted handle
/// (`retain_*` / `release_*`, as stream-ffi documents). Every element the Rust writer had
/// accepted reaches the C reader, in order; what the C writer committed reaches the Rust
/// reader.
#[test]
fn mixed_header_sequences() {
    let mut total = 0;
    for cancel in [false, true] {
        total += model(
            &format!("mixed: Rust send x C read (cancel {cancel})"),
            move || {
                let (mut w, r) = stream_with::<u32, Futex>();
                let h = r.as_ptr();
                // SAFETY: `r` is a live reader handle; the new one is ours (the C side's).
                unsafe { stream_core::RawStream::retain_reader(h) }.unwrap();
                drop(r);
                let writer = loom::thread::spawn(move || send_until_closed(&mut w, 2));
                // SAFETY: our counted handle keeps the header alive until its release below.
                let raw = unsafe { h.as_ref() };
                let mut buf = [MaybeUninit::<u32>::uninit(); 2];
                let mut got = Vec::new();
                loop {
                    // SAFETY: `buf` outlives the read, which ends below.
                    if unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) }.is_err() {
                        break;
                    }
                    let n = if cancel {
                        // SAFETY: our read, pending.
                        (unsafe { raw.cancel_read() }) as isize
                    } else {
                        let mut n = stream_abi::BLOCKED;
                        raw.read_ready_event().wait_until(|| {
                            // SAFETY: our read is pending until a count or CLOSED comes back.
                            n = unsafe { raw.read_amount() };
                            n != stream_abi::BLOCKED
                        });
                        n
                    };
                    if n == stream_abi::CLOSED {
                        break;
                    }
                    // SAFETY: the writer initialised the `n` elements it committed.
                    got.extend(buf[..n as usize].iter().map(|e| unsafe { e.assume_init() }));
                    if cancel {
                        break;
                    }
                }
                // SAFETY: our counted handle, given up; no read of ours is pending.
                unsafe { stream_core::RawStream::release_reader(h) };
                let sent = writer.join().unwrap();
                assert_eq!(got, (0..sent as u32).collect::<Vec<_>>());
                if !cancel {
                    assert_eq!(sent, 2);
                }
            },
        );
    }
    total += model("mixed: Rust recv x C write", || {
        let (w, mut r) = stream_with::<u32, Futex>();
        let h = w.as_ptr();
        // SAFETY: `w` is a live writer handle; the new one is ours (the C side's).
        unsafe { stream_core::RawStream::retain_writer(h) }.unwrap();
        drop(w);
        let reader = loom::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = r.recv() {
                got.push(v);
            }
            got
        });
        // SAFETY: our counted handle keeps the header alive until its release below.
        let raw = unsafe { h.as_ref() };
        raw.write_ready_event()
            .wait_until(|| raw.is_ready_to_write() || raw.is_read_closed());
        // SAFETY: our writer handle; the write ends with `finish_writing`.
        let (addr, cap) = unsafe { raw.start_writing() }.unwrap();
        assert!(cap >= 1);
        // SAFETY: the taken buffer holds at least one `u32`; one element initialised.
        unsafe {
            addr.cast::<u32>().write(7);
            assert!(raw.finish_writing(1));
            assert!(raw.finish_writing(stream_abi::CLOSED));
            stream_core::RawStream::release_writer(h);
        }
        assert_eq!(reader.join().unwrap(), [7]);
    });
    println!("loom stream mixed matrix: {total} interleavings in all");
    assert!(total >= 100, "too weak: {total}");
}

/// A `BatchWriter` keeps the lent buffer between pushes (phase WRITING held across calls) and
/// commits it when full and at its drop, while the reader reads to the end: three elements
/// through buffers of two arrive once each, in order, and each is dropped exactly once.
#[test]
fn batch_writer_holds_across_pushes() {
    let n = model("batch writer holds across pushes", || {
        let drops = Drops::new(3);
        let (w, mut r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut w = BatchWriter::new(w);
            for item in d.make(0..3) {
                w.hold().unwrap();
                assert!(w.push(item).is_ok());
            }
            // The drop commits the last, partly filled buffer.
        });
        let mut got = Vec::new();
        while r.read_append(&mut got, 2).is_ok() {}
        writer.join().unwrap();
        assert!(got.iter().map(|t| t.id).eq(0..3));
        drop(got);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// The reader reads one element (a buffer of one: the push that fills it commits it) and
/// closes, racing the `BatchWriter`'s wait for the next buffer: that `hold` ends with
/// `Closed`, the element it was for stays the writer's, and every element is dropped exactly
/// once, read or not.
#[test]
fn batch_writer_meets_a_closing_reader() {
    let n = model("batch writer meets a closing reader", || {
        let drops = Drops::new(2);
        let (w, mut r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut w = BatchWriter::new(w);
            let mut pushed = 0;
            for item in d.make(0..2) {
                match w.hold() {
                    Ok(_) => {
                        assert!(w.push(item).is_ok());
                        pushed += 1;
                    }
                    Err(e) => assert_eq!(e, WriteError::Closed(())),
                }
            }
            pushed
        });
        let mut got = Vec::new();
        assert_eq!(r.read_append(&mut got, 1), Ok(1));
        r.close();
        let pushed = writer.join().unwrap();
        assert_eq!((got.len(), pushed), (1, 1));
        drop(got);
        drop(r);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A `BufferedReader` is dropped (never waiting) while a `BatchWriter` may hold its buffer
/// with elements pushed: the drop reclaims an untaken buffer, takes a commit, or hands the
/// read over (`READ_ORPHANED`), and then the writer's flush ends it and gives the elements
/// back. Every element is dropped exactly once: read by the reader, or given back.
#[test]
fn buffered_reader_orphans_a_held_buffer() {
    let n = model("buffered reader orphans a held buffer", || {
        let drops = Drops::new(2);
        let (w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut w = BatchWriter::new(w);
            let mut items = d.make(0..2);
            if w.hold().is_err() {
                return (0, 0, items);
            }
            let mut pushed = 0;
            while let Some(item) = items.pop() {
                assert!(w.push(item).is_ok());
                pushed += 1;
            }
            let delivered = w.commit();
            items.extend(w.take_undelivered());
            (pushed, delivered, items)
        });
        let mut reader = BufferedReader::new(r, 4);
        let _ = reader.try_fill();
        drop(reader);
        let (pushed, delivered, back) = writer.join().unwrap();
        assert!(delivered == 0 || delivered == pushed, "all or nothing");
        assert_eq!(
            back.len() + delivered,
            2,
            "each element delivered or given back"
        );
        drop(back);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 100, "too weak: {n}");
}

/// A reader's drop hands its read over while the writer gives the buffer back (a dropped
/// loan) and then tries to send: the return and the hand-over race on the state word; either
/// way the buffer is freed once, the writer end is left free, and the element sent is
/// dropped exactly once (by the reader, which took it before its drop, or by the caller, to
/// whom the failed send gave it back).
#[test]
fn orphaned_read_meets_a_returned_loan() {
    let n = model("orphaned read meets a returned loan", || {
        let drops = Drops::new(1);
        let (mut w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            if let Ok(loan) = w.loan() {
                drop(loan);
            }
            let item = d.make(0..1).pop().unwrap();
            w.try_send(item).map_err(|e| e.into_inner())
        });
        let mut reader = BufferedReader::new(r, 2);
        let _ = reader.try_fill();
        drop(reader);
        drop(writer.join().unwrap());
        drops.assert_each_dropped_once();
    });
    assert!(n >= 50, "too weak: {n}");
}

/// `send` races a reader's drop: the element is delivered (and dropped by the reader's drop,
/// which takes the commit) or given back in the error, whether the drop reclaimed the
/// buffer, closed the end first, or handed over a read whose buffer `send` held; dropped
/// exactly once either way.
#[test]
fn send_meets_an_orphaning_reader() {
    let n = model("send meets an orphaning reader", || {
        let drops = Drops::new(1);
        let (mut w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let item = d.make(0..1).pop().unwrap();
            match w.send(item) {
                Ok(()) => None,
                Err(WriteError::Closed(back)) => Some(back),
                Err(e) => panic!("{e:?}"),
            }
        });
        let mut reader = BufferedReader::new(r, 2);
        let _ = reader.try_fill();
        drop(reader);
        let back = writer.join().unwrap();
        assert_eq!(drops.count(0), usize::from(back.is_none()));
        drop(back);
        drops.assert_each_dropped_once();
    });
    assert!(n >= 50, "too weak: {n}");
}

/// A `BufferedReader` over one of two reader handles hands its open lend over on drop while
/// the writer may hold the ring; the writer then commits into it (`commit`) or gives it back
/// (a dropped loan), and sends the next element, which goes into the same ring if it is
/// still lent (delivered to the dropped reader, whose drop or finisher drops it) or else to
/// the other handle: that one sees `Busy` only until the lend ends (its Acquire take reads
/// the `IDLE` of the writer's or reader's end, after the fields were cleared), gets its
/// elements in order and never one committed into the orphaned ring, and every element is
/// dropped exactly once.
fn clone_reads_after_an_orphaned_read(name: &str, commit: bool) -> usize {
    model(name, move || {
        let drops = Drops::new(2);
        let (mut w, r) = stream_with::<_, Futex>();
        let d = drops.clone();
        let writer = loom::thread::spawn(move || {
            let mut items = d.make(0..2);
            let second = items.pop().unwrap();
            if let Ok(loan) = w.loan() {
                if commit {
                    loan.fill_from_iter(items);
                } else {
                    drop(loan);
                }
            }
            // Refused (and given back, dropped here) only if the dropped reader's ring took
            // it and that reader handed its lend over meanwhile.
            match w.send(second) {
                Ok(()) => true,
                Err(e) => {
                    assert!(matches!(e, WriteError::Closed(_)), "{e:?}");
                    false
                }
            }
        });
        let mut clone = r.clone();
        let mut reader = BufferedReader::new(r, 2);
        let _ = reader.try_fill();
        drop(reader);
        // The clone reads until the second element or the end: an element reaches it only
        // if the dropped reader's buffer did not take it (it was reclaimed before the take,
        // or, for a returned loan, the second element went into it before the drop).
        let mut got = Vec::new();
        loop {
            match clone.recv() {
                Ok(item) => {
                    let last = item.id == 1;
                    got.push(item);
                    if last {
                        break;
                    }
                }
                Err(ReadError::Busy) => loom::thread::yield_now(),
                Err(ReadError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        let ids: Vec<usize> = got.iter().map(|t| t.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        drop(got);
        let sent = writer.join().unwrap();
        assert!(
            sent || !ids.contains(&1),
            "a refused element reached nobody"
        );
        if !commit {
            // The first element was never sent (the loan was dropped): drop it here once.
            if drops.count(0) == 0 {
                drops.make(0..1);
            }
        }
        drops.assert_each_dropped_once();
    })
}

#[test]
fn reader_clone_reads_after_an_orphaned_read() {
    let n = clone_reads_after_an_orphaned_read("reader clone reads after an orphaned read", true);
    assert!(n >= 50, "too weak: {n}");
}

#[test]
fn reader_clone_reads_after_an_orphaned_returned_read() {
    let n = clone_reads_after_an_orphaned_read(
        "reader clone reads after an orphaned, returned read",
        false,
    );
    assert!(n >= 50, "too weak: {n}");
}
