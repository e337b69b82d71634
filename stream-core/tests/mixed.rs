//! The mixed-API matrix of streams: each safe operation of a Rust handle beside (on another
//! thread) and after each header-level sequence that stream-ffi documents for C code on the
//! other end (its own handle counted with `retain_*`, released with `release_*`), for every
//! backend and under Miri. Every element is accounted for: what the reader got is exactly
//! what the writer had accepted, in order, nothing twice.
#![cfg(not(stream_loom))]

use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::thread;
use std::time::Duration;

use stream_abi::{BLOCKED, CLOSED};
use stream_core::{stream_with, Backend, RawStream, ReadError, StartReadError, StartWriteError};
use stream_events::{Futex, Listener, Spin};

/// Elements the writers offer: 1..=N.
const N: u64 = 7;

/// A header pointer for another thread; the handle it carries keeps the header alive.
struct Handle<B: Backend>(NonNull<RawStream<B>>);

// SAFETY: `RawStream` is `Sync`; the pointer stands for a counted handle, used by one thread.
unsafe impl<B: Backend> Send for Handle<B> {}

impl<B: Backend> Handle<B> {
    fn raw(&self) -> &RawStream<B> {
        // SAFETY: the counted handle keeps the header alive.
        unsafe { self.0.as_ref() }
    }
}

/// C code reading: the sequences of stream-ffi on the reader end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CRead {
    /// `start_reading` (4 elements), wait on *read ready*, `read_amount`; until end of stream.
    UntilEnd,
    /// One `start_reading`, then `cancel_read` (keeps what was delivered).
    StartCancel,
    /// `close_read`.
    Close,
    /// Nothing but the handle's retain and release.
    RetainRelease,
}

/// C code writing: the sequences of stream-ffi on the writer end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CWrite {
    /// Wait on *write ready*, `start_writing`, copy, `finish_writing(k)`; then `close_write`.
    AllThenClose,
    /// Take the buffer once and give it back: `finish_writing(0)`.
    TakeReturn,
    /// `finish_writing(CLOSED)`.
    Close,
    /// Nothing but the handle's retain and release.
    RetainRelease,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RustWrite {
    WriteSlice,
    SendEach,
    TrySend,
    Close,
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RustRead {
    RecvAll,
    ReadAppendAll,
    TryRead,
    ReadTimeout,
    Drop,
}

/// Runs `seq` for the reader handle `h` (released at the end); returns the elements read.
fn c_read<B: Backend>(h: Handle<B>, seq: CRead) -> Vec<u64> {
    let raw = h.raw();
    let mut got = Vec::new();
    let mut buf = [MaybeUninit::<u64>::uninit(); 4];
    let take = |buf: &[MaybeUninit<u64>], n: isize, got: &mut Vec<u64>| {
        // SAFETY: the writer initialised the first `n` elements it committed.
        got.extend(buf[..n as usize].iter().map(|e| unsafe { e.assume_init() }));
    };
    match seq {
        CRead::UntilEnd => loop {
            // SAFETY: `buf` outlives the read, which ends below (a count or CLOSED).
            match unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) } {
                Ok(()) => {}
                Err(StartReadError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
            let mut n = BLOCKED;
            // SAFETY: our read is pending until `read_amount` returns a count or CLOSED.
            raw.read_ready_event()
                .wait_until(|| unsafe { raw.read_amount() }.tap(&mut n) != BLOCKED);
            if n == CLOSED {
                break;
            }
            take(&buf, n, &mut got);
        },
        CRead::StartCancel => {
            // SAFETY: as above; the cancel ends the read.
            if unsafe { raw.start_reading(buf.as_mut_ptr().cast(), buf.len()) }.is_ok() {
                thread::yield_now();
                // SAFETY: ours, pending.
                let n = unsafe { raw.cancel_read() };
                take(&buf, n as isize, &mut got);
            }
        }
        CRead::Close => {
            raw.close_read();
        }
        CRead::RetainRelease => {}
    }
    // SAFETY: our counted reader handle, given up; no read of ours is pending.
    unsafe { RawStream::release_reader(h.0) };
    got
}

/// Runs `seq` for the writer handle `h` (released at the end); returns how many of 1..=N it
/// committed.
fn c_write<B: Backend>(h: Handle<B>, seq: CWrite) -> u64 {
    let raw = h.raw();
    let mut next = 1;
    let wait_lent = || {
        raw.write_ready_event().wait_until(|| {
            raw.is_ready_to_write() || raw.is_read_closed() || raw.is_write_closed()
        });
    };
    match seq {
        CWrite::AllThenClose => {
            while next <= N {
                wait_lent();
                // SAFETY: our writer handle; the write ends with `finish_writing` below.
                match unsafe { raw.start_writing() } {
                    Ok((addr, cap)) => {
                        let k = (cap as u64).min(N + 1 - next);
                        for i in 0..k {
                            // SAFETY: the taken buffer holds `cap` u64s.
                            unsafe { addr.cast::<u64>().add(i as usize).write(next + i) };
                        }
                        // SAFETY: `k` elements initialised (0 on a probe answers it).
                        assert!(unsafe { raw.finish_writing(k as isize) });
                        next += k;
                    }
                    Err(StartWriteError::Closed) => break,
                    Err(StartWriteError::Blocked) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            raw.close_write();
        }
        CWrite::TakeReturn => {
            wait_lent();
            // SAFETY: as above; 0 on a buffer with room returns it.
            if let Ok((_, cap)) = unsafe { raw.start_writing() } {
                assert!(cap > 0);
                // SAFETY: we hold the buffer; 0 on a buffer with room returns it.
                assert!(unsafe { raw.finish_writing(0) });
            }
        }
        CWrite::Close => {
            // SAFETY: `CLOSED` needs no buffer.
            assert!(unsafe { raw.finish_writing(CLOSED) });
        }
        CWrite::RetainRelease => {}
    }
    // SAFETY: our counted writer handle, given up; no buffer of ours is taken.
    unsafe { RawStream::release_writer(h.0) };
    next - 1
}

trait Tap: Copy {
    fn tap(self, into: &mut Self) -> Self {
        *into = self;
        self
    }
}
impl Tap for isize {}

fn rust_read_matrix<B: Backend>(beside: bool) {
    for seq in [
        CWrite::AllThenClose,
        CWrite::TakeReturn,
        CWrite::Close,
        CWrite::RetainRelease,
    ] {
        for op in [
            RustRead::RecvAll,
            RustRead::ReadAppendAll,
            RustRead::TryRead,
            RustRead::ReadTimeout,
            RustRead::Drop,
        ] {
            let (writer, mut reader) = stream_with::<u64, B>();
            // SAFETY: `writer` is a live writer handle; the new one is the C side's.
            unsafe { RawStream::retain_writer(writer.as_ptr()) }.unwrap();
            let h = Handle(writer.as_ptr());
            // The Rust writer stays idle; its drop leaves the C handle the writer end's last.
            drop(writer);
            let c = thread::spawn(move || c_write(h, seq));
            // "After": a sequence that needs no lend from the reader ends before the reader acts.
            if !beside && matches!(seq, CWrite::Close | CWrite::RetainRelease) {
                while !c.is_finished() {
                    thread::yield_now();
                }
            }
            let mut got = Vec::new();
            match op {
                RustRead::RecvAll => {
                    while let Ok(v) = reader.recv() {
                        got.push(v);
                    }
                    assert_eq!(reader.recv(), Err(ReadError::Closed));
                }
                RustRead::ReadAppendAll => while reader.read_append(&mut got, 3).is_ok() {},
                RustRead::TryRead => {
                    let mut buf = [MaybeUninit::uninit(); 4];
                    if let Ok(n) = reader.try_read_uninit(&mut buf) {
                        // SAFETY: `n` elements were delivered.
                        got.extend(buf[..n].iter().map(|e| unsafe { e.assume_init() }));
                    }
                }
                RustRead::ReadTimeout => {
                    let mut buf = [MaybeUninit::uninit(); 4];
                    if let Ok(n) = reader.read_uninit_timeout(&mut buf, Duration::from_millis(2)) {
                        // SAFETY: as above.
                        got.extend(buf[..n].iter().map(|e| unsafe { e.assume_init() }));
                    }
                }
                RustRead::Drop => {}
            }
            drop(reader);
            let committed = c.join().unwrap();
            let ctx = format!("{seq:?} x {op:?} beside={beside}");
            assert_eq!(got, (1..=got.len() as u64).collect::<Vec<_>>(), "{ctx}");
            assert_eq!(got.len() as u64, committed, "{ctx}");
            if matches!(op, RustRead::RecvAll | RustRead::ReadAppendAll)
                && seq == CWrite::AllThenClose
            {
                assert_eq!(committed, N, "{ctx}");
            }
        }
    }
}

fn rust_write_matrix<B: Backend>(beside: bool) {
    for seq in [
        CRead::UntilEnd,
        CRead::StartCancel,
        CRead::Close,
        CRead::RetainRelease,
    ] {
        for op in [
            RustWrite::WriteSlice,
            RustWrite::SendEach,
            RustWrite::TrySend,
            RustWrite::Close,
            RustWrite::Drop,
        ] {
            let (mut writer, reader) = stream_with::<u64, B>();
            // SAFETY: `reader` is a live reader handle; the new one is the C side's.
            unsafe { RawStream::retain_reader(reader.as_ptr()) }.unwrap();
            let h = Handle(reader.as_ptr());
            drop(reader);
            let c = thread::spawn(move || c_read(h, seq));
            // "After": a sequence that needs nothing from the writer ends before the writer acts.
            if !beside && seq != CRead::UntilEnd {
                while !c.is_finished() {
                    thread::yield_now();
                }
            }
            let items: Vec<u64> = (1..=N).collect();
            let mut accepted = 0;
            match op {
                RustWrite::WriteSlice => {
                    while accepted < items.len() {
                        match writer.write_slice(&items[accepted..]) {
                            Ok(n) => accepted += n,
                            Err(_) => break,
                        }
                    }
                }
                RustWrite::SendEach => {
                    for &v in &items {
                        match writer.send(v) {
                            Ok(()) => accepted += 1,
                            Err(e) => {
                                assert_eq!(e.into_inner(), v);
                                break;
                            }
                        }
                    }
                }
                RustWrite::TrySend => accepted += usize::from(writer.try_send(1).is_ok()),
                RustWrite::Close => writer.close(),
                RustWrite::Drop => {}
            }
            drop(writer);
            let got = c.join().unwrap();
            let ctx = format!("{seq:?} x {op:?} beside={beside}");
            assert_eq!(got, items[..accepted], "{ctx}");
            if seq == CRead::UntilEnd && op != RustWrite::TrySend {
                let all = matches!(op, RustWrite::WriteSlice | RustWrite::SendEach);
                assert_eq!(accepted, if all { items.len() } else { 0 }, "{ctx}");
            }
        }
    }
}

fn rounds() -> usize {
    if cfg!(miri) {
        1
    } else {
        20
    }
}

fn all<B: Backend>() {
    for beside in [false, true] {
        for _ in 0..rounds() {
            rust_read_matrix::<B>(beside);
            rust_write_matrix::<B>(beside);
        }
    }
}

#[test]
fn mixed_spin() {
    all::<Spin>();
}

#[test]
fn mixed_futex() {
    all::<Futex>();
}

#[test]
fn mixed_listener() {
    all::<Listener>();
}
