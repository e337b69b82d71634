//! The open lend in the `c_api` fuzz target: a ring lent once
//! (`native_stream_start_reading_open`), read with `open_readable`/`wait_open`, freed slot by
//! slot with `open_consume` and ended with `end_open`, while this thread, acting for the
//! writer, takes the ring's free region with `start_writing` and publishes with
//! `finish_writing`. The model keeps the positions: `w` the writer's published one, `p` the
//! reader's consumed one (both count from 0 at the lend), and the region the writer holds.

use std::ptr::{self, null_mut};

use stream_abi::OpenLend;
use stream_ffi::*;

use crate::{missed, ns, Buf, Read, Stream, Timeout};

/// A ring lent open by this thread.
pub(crate) struct Ring {
    buf: Buf,
    /// The descriptor the stream points to until the lend ends.
    lend: Box<OpenLend>,
    w: usize,
    p: usize,
    /// The free region the writer took (its length), while it holds it.
    pub(crate) taken: Option<usize>,
}

impl Ring {
    fn new(cap: usize) -> Ring {
        let buf = Buf::new(cap);
        let lend = Box::new(OpenLend {
            buffer: buf.ptr.cast(),
            capacity: cap,
            element_size: size_of::<u32>(),
        });
        Ring {
            buf,
            lend,
            w: 0,
            p: 0,
            taken: None,
        }
    }

    fn cap(&self) -> usize {
        self.buf.cap
    }

    /// The free region a writer's take gets: its first slot and length (0: the ring is full).
    pub(crate) fn region(&self) -> (usize, usize) {
        let free = self.cap() - (self.w - self.p);
        let start = self.w % self.cap();
        (start, free.min(self.cap() - start))
    }

    /// Whether a writer would find room now (`wait_writable`, `is_ready_to_write`).
    pub(crate) fn writable(&self) -> bool {
        self.taken.is_none() && self.region().1 > 0
    }

    pub(crate) fn available(&self) -> usize {
        self.w - self.p
    }

    /// The writer's side: writes `n` values from `next` into the region it holds.
    pub(crate) fn write(&self, next: u32, n: usize) {
        let (start, len) = self.region();
        assert!(n <= len);
        for k in 0..n {
            // SAFETY: the region `start..start + len` lies in the ring of `cap` elements.
            unsafe {
                self.buf
                    .ptr
                    .add(start + k)
                    .write(next.wrapping_add(k as u32))
            };
        }
    }

    /// Publishes `n` elements written into the held region and gives it back.
    pub(crate) fn publish(&mut self, n: usize) {
        self.w += n;
        self.taken = None;
    }

    /// Checks the `n` published elements after the reader's position and consumes them.
    pub(crate) fn consume(&mut self, expect: &mut u32, n: usize) {
        for i in self.p..self.p + n {
            // SAFETY: position `i` was published: its slot holds the value written there.
            let v = unsafe { self.buf.ptr.add(i % self.cap()).read() };
            assert_eq!(v, *expect, "element at position {i}");
            *expect = expect.wrapping_add(1);
        }
        self.p += n;
    }

    pub(crate) fn addr(&self, slot: usize) -> *mut core::ffi::c_void {
        // SAFETY: `slot` is a slot of the ring (or one past its end for an empty region).
        unsafe { self.buf.ptr.add(slot) }.cast()
    }
}

/// How `StartReadingOpen` is called.
#[derive(arbitrary::Arbitrary, Debug, Clone, Copy)]
pub(crate) enum Lend {
    /// A ring of `1 << (k % 5)` elements.
    Ring(u8),
    NullLend,
    NullBuffer,
    /// A capacity that is not a power of two (0, or 3 times one).
    BadCapacity(u8),
}

#[derive(arbitrary::Arbitrary, Debug, Clone, Copy)]
pub(crate) enum OpenOp {
    Start(Lend),
    Readable { null_pos: bool, null_avail: bool },
    Wait { t: Timeout, null_out: bool },
    Consume(u8),
    End { t: Timeout, null_out: bool },
}

/// Runs `op` on stream `s` and checks it against the model.
pub(crate) fn open_op(s: &mut Stream, op: OpenOp) {
    let open = |s: &Stream| match &s.read {
        Read::Open(r) => Some(r.available()),
        _ => None,
    };
    let closed = s.rclosed || s.wclosed;
    match op {
        OpenOp::Start(how) => {
            let cap = match how {
                Lend::Ring(k) => 1usize << (k % 5),
                Lend::BadCapacity(k) => 3 * (usize::from(k % 3)),
                _ => 4,
            };
            let mut ring = Ring::new(cap.max(1));
            ring.lend.capacity = cap;
            if matches!(how, Lend::NullBuffer) {
                ring.lend.buffer = null_mut();
            }
            let lend: *const OpenLend = if matches!(how, Lend::NullLend) {
                ptr::null()
            } else {
                &*ring.lend
            };
            // SAFETY: a live stream; the descriptor (boxed) and its ring live in the model
            // until the lend ends.
            let rc = unsafe { native_stream_start_reading_open(s.h, lend) };
            let expected = if matches!(how, Lend::NullLend | Lend::NullBuffer) {
                NATIVE_STREAM_ERR_NULL
            } else if matches!(how, Lend::BadCapacity(_)) {
                NATIVE_STREAM_ERR_INVALID
            } else {
                s.lend_code()
            };
            assert_eq!(rc, expected, "start_reading_open({how:?})");
            if rc == NATIVE_STREAM_OK {
                s.read = Read::Open(ring);
            }
        }
        OpenOp::Readable { .. } | OpenOp::Wait { .. } => {
            let (null_pos, null_avail, wait) = match op {
                OpenOp::Readable {
                    null_pos,
                    null_avail,
                } => (null_pos, null_avail, None),
                OpenOp::Wait { t, null_out } => {
                    let holds = closed || open(s).is_some_and(|n| n > 0);
                    (null_out, false, Some(ns(t, holds)))
                }
                _ => unreachable!(),
            };
            let (mut pos, mut avail) = (111usize, 222usize);
            let pp = if null_pos {
                null_mut()
            } else {
                ptr::from_mut(&mut pos)
            };
            let pa = if null_avail {
                null_mut()
            } else {
                ptr::from_mut(&mut avail)
            };
            // SAFETY: a live stream; out-parameters null or writable; this thread owns the
            // open lend, if any.
            let rc = unsafe {
                match wait {
                    Some(t) => native_stream_wait_open(s.h, t, pp, pa),
                    None => native_stream_open_readable(s.h, pp, pa),
                }
            };
            let untouched = (pos, avail) == (111, 222);
            if null_pos || null_avail {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_NULL, true));
            }
            if s.readers == 0 {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_RELEASED, true));
            }
            let Read::Open(ring) = &s.read else {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_NOT_PENDING, true));
            };
            let n = ring.available();
            match wait {
                Some(t) if n == 0 && !closed => {
                    assert_eq!((rc, pos, avail), (missed(t), ring.p, 0), "wait_open({t})");
                }
                _ => {
                    let code = if n == 0 && closed {
                        NATIVE_STREAM_ERR_CLOSED
                    } else {
                        NATIVE_STREAM_OK
                    };
                    assert_eq!((rc, pos, avail), (code, ring.p, n), "open_readable");
                }
            }
        }
        OpenOp::Consume(k) => {
            let count = usize::from(k) % (open(s).unwrap_or(0) + 2);
            // SAFETY: a live stream; this thread owns the open lend, if any.
            let rc = unsafe { native_stream_open_consume(s.h, count) };
            if s.readers == 0 {
                return assert_eq!(rc, NATIVE_STREAM_ERR_RELEASED);
            }
            let expect = &mut s.expect;
            let Read::Open(ring) = &mut s.read else {
                return assert_eq!(rc, NATIVE_STREAM_ERR_NOT_PENDING);
            };
            if count > ring.available() {
                return assert_eq!(rc, NATIVE_STREAM_ERR_INVALID, "consume({count})");
            }
            assert_eq!(rc, NATIVE_STREAM_OK, "consume({count})");
            ring.consume(expect, count);
        }
        OpenOp::End { t, null_out } => {
            let (mut pos, mut written) = (111usize, 222usize);
            let pp = if null_out {
                null_mut()
            } else {
                ptr::from_mut(&mut pos)
            };
            let holds = match &s.read {
                Read::Open(ring) => ring.taken.is_none(),
                _ => true,
            };
            let t = ns(t, holds);
            // SAFETY: a live stream; out-parameters null or writable; this thread owns the
            // open lend, if any (and never waits endlessly for its own commit: `ns`).
            let rc = unsafe { native_stream_end_open(s.h, t, pp, ptr::from_mut(&mut written)) };
            let untouched = (pos, written) == (111, 222);
            if null_out {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_NULL, true));
            }
            if s.readers == 0 {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_RELEASED, true));
            }
            let Read::Open(ring) = &mut s.read else {
                return assert_eq!((rc, untouched), (NATIVE_STREAM_ERR_NOT_PENDING, true));
            };
            if ring.taken.is_some() {
                // The writer (this thread) holds the ring: the lend stays open.
                return assert_eq!((rc, untouched), (missed(t), true), "end_open({t})");
            }
            assert_eq!(
                (rc, pos, written),
                (NATIVE_STREAM_OK, ring.p, ring.w),
                "end_open"
            );
            let rest = ring.available();
            ring.consume(&mut s.expect, rest);
            s.read = Read::None;
        }
    }
}
