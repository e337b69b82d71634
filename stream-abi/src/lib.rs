//! The memory layout shared by every side of a native stream.
//!
//! A native stream hands elements from one writer to one reader with no queue in between: the
//! reader lends a buffer (address and capacity) and signals *write ready*; the writer writes
//! elements straight into it, stores how many in `ready_size` and signals *read ready*. This
//! crate pins the `#[repr(C)]` header that both sides (Rust or C, linked into one process) agree
//! on, and the sentinel values of `ready_size`. It has no behaviour: `stream-core` implements the
//! protocol on top of it, and `include/native_stream.h` is the same layout for C. Use it to
//! check a layout from another language, or to read a count's sentinel; to use streams, use
//! `stream-core` or the `native-stream` crate.
//!
//! # Examples
//!
//! ```
//! use stream_abi::{StreamHeader, BLOCKED, CLOSED, LAYOUT};
//!
//! // The layout C code compiles against: 64 bytes, 64-byte aligned, seven words.
//! assert_eq!((LAYOUT.size, LAYOUT.align), (64, 64));
//! assert_eq!(LAYOUT.offsets[0], 0);
//! // A new header has no count to take.
//! let header = StreamHeader::new();
//! assert_eq!(header.ready_size.into_inner(), BLOCKED);
//! assert_eq!(CLOSED, isize::MIN); // end of stream
//! ```
//!
//! # The header
//!
//! [`StreamHeader`] has the members of the design, in its order, plus one word:
//!
//! | field              | meaning                                                          |
//! |--------------------|------------------------------------------------------------------|
//! | `read_ready`       | event word of *read ready* (data written, `ready_size` is valid) |
//! | `write_ready`      | event word of *write ready* (`read_addr`/`read_size` are valid)  |
//! | `read_addr`        | address of the lent buffer                                       |
//! | `read_size`        | capacity of the lent buffer, in elements                         |
//! | `ready_size`       | number of valid elements, or a sentinel                          |
//! | `active_instances` | handles referring to the header; the last one frees it           |
//! | `state`            | the protocol state, owned by `stream-core`                       |
//!
//! `active_instances` counts reader handles in the low half and writer handles in the high
//! half ([`ACTIVE_READER_ONE`], [`ACTIVE_WRITER_ONE`]). The two event words have one size and
//! alignment (one pointer) whatever the event backend; C code never touches them directly, it
//! calls the event functions of the library that created the stream.
//!
//! # Sentinels of `ready_size`
//!
//! | name          | value        | bit pattern (64-bit)    | meaning                             |
//! |---------------|--------------|-------------------------|-------------------------------------|
//! | [`CLOSED`]    | `isize::MIN` | `0x8000_0000_0000_0000` | end of stream: the writer closed    |
//! | [`BLOCKED`]   | `-1`         | `0xffff_ffff_ffff_ffff` | nothing yet: no count to take       |
//! | [`CANCELLED`] | `0`          | `0x0000_0000_0000_0000` | the read ended with no element      |
//! | count         | `1..=MAX`    |                         | that many elements were written     |
//!
//! # Idle value and "take"
//!
//! The idle value of the buffer fields is `read_addr` null, `read_size` 0 and `ready_size`
//! [`BLOCKED`] ([`IDLE_READ_ADDR`], [`IDLE_READ_SIZE`], [`IDLE_READY_SIZE`]). To *take* a field
//! is to swap it with its idle value: the writer takes `read_addr` and `read_size` when it
//! accepts a lent buffer, the reader takes `ready_size` when it accepts the count.
//!
//! # Component Model results
//!
//! [`CmResult`] translates to and from the Component Model's result encoding of `stream.read`
//! and `stream.write`, so a runtime that speaks the canonical ABI can translate at its boundary.
//!
//! # Guarantees
//!
//! The layout is pinned: size, alignment and every field offset are asserted at compile time
//! on 32- and 64-bit targets, and a test compiles `include/native_stream.h` with a C compiler
//! and compares it with [`LAYOUT`]. The crate is `no_std` and has no `unsafe` code.
//!
//! # Features
//!
//! None.
//!
//! The design notes (why the header has a `state` word, what the event words hold) are in
//! `docs/design.md` of the repository, section "stream-abi".
#![no_std]

mod cm;
mod open;

pub use cm::{CmError, CmResult, CM_BLOCKED, CM_CANCELLED, CM_COMPLETED, CM_DROPPED, CM_MAX_COUNT};
pub use open::{open_capacity_ok, OpenLend, OPEN_LEND_LAYOUT};

use core::ffi::c_void;
use core::mem::{align_of, offset_of, size_of};
use core::sync::atomic::{AtomicIsize, AtomicPtr, AtomicUsize};

/// `ready_size` at end of stream: the writer closed and every committed element was taken.
///
/// Bit pattern: only the sign bit set (`isize::MIN`, `0x8000_0000_0000_0000` on 64-bit).
pub const CLOSED: isize = isize::MIN;

/// `ready_size` while there is no count to take: the normal, "nothing yet" value.
///
/// Bit pattern: all bits set (`-1`).
pub const BLOCKED: isize = -1;

/// `ready_size` of a read that ended without an element: cancelled before the writer took the
/// buffer, or a zero-capacity readiness probe answered.
///
/// Bit pattern: all bits clear (`0`).
pub const CANCELLED: isize = 0;

/// Idle value of `read_addr`: no buffer is lent.
pub const IDLE_READ_ADDR: *mut c_void = core::ptr::null_mut();

/// Idle value of `read_size`: no capacity is lent.
pub const IDLE_READ_SIZE: usize = 0;

/// Idle value of `ready_size`: [`BLOCKED`].
pub const IDLE_READY_SIZE: isize = BLOCKED;

/// Bits of `active_instances` that count reader handles (the low half of the word).
pub const ACTIVE_READER_MASK: usize = (1 << (usize::BITS / 2)) - 1;

/// One reader handle in `active_instances`.
pub const ACTIVE_READER_ONE: usize = 1;

/// One writer handle in `active_instances` (the high half of the word).
pub const ACTIVE_WRITER_ONE: usize = 1 << (usize::BITS / 2);

/// Largest number of handles of one end that `active_instances` can count.
pub const ACTIVE_MAX_PER_END: usize = ACTIVE_READER_MASK;

/// One event word: a pointer-sized, pointer-aligned slot whose contents belong to the event
/// backend that the stream was created with.
#[repr(C)]
#[derive(Debug, Default)]
pub struct EventWord {
    /// The backend's state.
    pub raw: AtomicUsize,
}

/// The header of a native stream, shared by its reader and writer.
///
/// Every field is an atomic so that the header is `Send + Sync` and may be inspected from any
/// thread; the protocol (in `stream-core`) decides who may write which field when.
///
/// The 8 bytes after `state` are tail padding here. `stream-core` keeps a one-element buffer
/// there (its *inline word*, lent like any buffer, so the bytes may be written by the side
/// that owns the lent buffer): code outside the protocol must not touch them.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct StreamHeader {
    /// Event word of *read ready*: data written, `ready_size` holds the count.
    pub read_ready: EventWord,
    /// Event word of *write ready*: `read_addr` and `read_size` describe a lent buffer.
    pub write_ready: EventWord,
    /// Address of the lent buffer; null when idle.
    pub read_addr: AtomicPtr<c_void>,
    /// Capacity of the lent buffer in elements; 0 when idle.
    pub read_size: AtomicUsize,
    /// Number of valid elements, or [`CLOSED`], [`BLOCKED`] or [`CANCELLED`].
    pub ready_size: AtomicIsize,
    /// Handles referring to the header: reader handles in the low half, writer handles in the
    /// high half. The header is freed when it reaches zero.
    pub active_instances: AtomicUsize,
    /// Protocol state: phase of the current read and closed flags (owned by `stream-core`).
    pub state: AtomicUsize,
}

impl StreamHeader {
    /// A header in its initial state: idle buffer fields, no handles, state 0.
    pub const fn new() -> Self {
        Self {
            read_ready: EventWord {
                raw: AtomicUsize::new(0),
            },
            write_ready: EventWord {
                raw: AtomicUsize::new(0),
            },
            read_addr: AtomicPtr::new(IDLE_READ_ADDR),
            read_size: AtomicUsize::new(IDLE_READ_SIZE),
            ready_size: AtomicIsize::new(IDLE_READY_SIZE),
            active_instances: AtomicUsize::new(0),
            state: AtomicUsize::new(0),
        }
    }
}

impl Default for StreamHeader {
    fn default() -> Self {
        Self::new()
    }
}

/// Size, alignment and field offsets of [`StreamHeader`], as numbers a C test can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `size_of::<StreamHeader>()`.
    pub size: usize,
    /// `align_of::<StreamHeader>()`.
    pub align: usize,
    /// Offsets of the fields, in declaration order.
    pub offsets: [usize; 7],
}

/// The layout of [`StreamHeader`] on this target.
pub const LAYOUT: Layout = Layout {
    size: size_of::<StreamHeader>(),
    align: align_of::<StreamHeader>(),
    offsets: [
        offset_of!(StreamHeader, read_ready),
        offset_of!(StreamHeader, write_ready),
        offset_of!(StreamHeader, read_addr),
        offset_of!(StreamHeader, read_size),
        offset_of!(StreamHeader, ready_size),
        offset_of!(StreamHeader, active_instances),
        offset_of!(StreamHeader, state),
    ],
};

// The layout is part of the ABI: pin it. Moving, resizing or reordering a field breaks the
// build here before it breaks a C caller.
static_assertions::assert_eq_size!(EventWord, usize);
static_assertions::assert_eq_align!(EventWord, usize);
static_assertions::assert_impl_all!(StreamHeader: Send, Sync);
static_assertions::const_assert_eq!(align_of::<StreamHeader>(), 64);
static_assertions::const_assert_eq!(size_of::<StreamHeader>(), 64);
static_assertions::const_assert_eq!(offset_of!(StreamHeader, read_ready), 0);

#[cfg(target_pointer_width = "64")]
mod pinned {
    use super::*;
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, write_ready), 8);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, read_addr), 16);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, read_size), 24);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, ready_size), 32);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, active_instances), 40);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, state), 48);
    static_assertions::const_assert!(offset_of!(StreamHeader, state) + 8 <= 64);
    static_assertions::const_assert_eq!(super::CLOSED as u64, 0x8000_0000_0000_0000);
    static_assertions::const_assert_eq!(super::ACTIVE_WRITER_ONE, 1 << 32);
}

#[cfg(target_pointer_width = "32")]
mod pinned {
    use super::*;
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, write_ready), 4);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, read_addr), 8);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, read_size), 12);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, ready_size), 16);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, active_instances), 20);
    static_assertions::const_assert_eq!(offset_of!(StreamHeader, state), 24);
    static_assertions::const_assert_eq!(super::CLOSED as u32, 0x8000_0000);
    static_assertions::const_assert_eq!(super::ACTIVE_WRITER_ONE, 1 << 16);
}

static_assertions::const_assert!(CLOSED < BLOCKED && BLOCKED < CANCELLED);

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::Ordering;

    #[test]
    fn new_header_is_idle() {
        let h = StreamHeader::new();
        // ORDERING: Relaxed: one thread, no other access.
        assert!(h.read_addr.load(Ordering::Relaxed).is_null());
        // ORDERING: Relaxed, as above.
        assert_eq!(h.read_size.load(Ordering::Relaxed), IDLE_READ_SIZE);
        // ORDERING: Relaxed, as above.
        assert_eq!(h.ready_size.load(Ordering::Relaxed), BLOCKED);
        // ORDERING: Relaxed, as above.
        assert_eq!(h.active_instances.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn sentinels_have_documented_bit_patterns() {
        assert_eq!(CLOSED as usize, 1usize << (usize::BITS - 1));
        assert_eq!(BLOCKED as usize, usize::MAX);
        assert_eq!(CANCELLED as usize, 0);
    }

    #[test]
    fn active_halves_do_not_overlap() {
        assert_eq!(ACTIVE_WRITER_ONE & ACTIVE_READER_MASK, 0);
        assert_eq!(ACTIVE_READER_ONE & !ACTIVE_READER_MASK, 0);
        assert_eq!(
            ACTIVE_MAX_PER_END * ACTIVE_READER_ONE + ACTIVE_MAX_PER_END * ACTIVE_WRITER_ONE,
            usize::MAX
        );
    }

    #[test]
    fn layout_constant_matches_offsets() {
        assert_eq!(LAYOUT.offsets[0], 0);
        for pair in LAYOUT.offsets.windows(2) {
            assert_eq!(pair[1] - pair[0], size_of::<usize>());
        }
        assert!(LAYOUT.offsets[6] + size_of::<usize>() <= LAYOUT.size);
    }
}
