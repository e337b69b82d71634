//! The descriptor of an *open lend*: a ring that the reader lends once and the writer keeps
//! writing into (`docs/design.md`, "The open lend").

use core::ffi::c_void;
use core::mem::{align_of, offset_of, size_of};

/// What a reader lends when it opens a lend: a ring of `capacity` elements of
/// `element_size` bytes at `buffer`.
///
/// The reader passes a pointer to it instead of a buffer (`read_addr` then points here, and
/// `read_size` is `capacity`); it must stay valid, unchanged, until the lend ends. While the
/// lend is open the header's `ready_size` is the writer's position (elements published, a
/// count that only grows, wrapping) and the header's last word (tail padding in
/// [`StreamHeader`](crate::StreamHeader)) the reader's position (elements consumed). Element
/// `i` of the stream lives at `buffer + (i % capacity) * element_size`. A writer that calls
/// the usual write functions is handed the free part of the ring after its position, one
/// contiguous piece at a time, and its count publishes that many elements.
///
/// `capacity` is a power of two (at least 1).
#[repr(C)]
#[derive(Debug)]
pub struct OpenLend {
    /// The ring's first element.
    pub buffer: *mut c_void,
    /// Elements in the ring: a power of two.
    pub capacity: usize,
    /// Bytes per element (the stream's element type's size; 0 for zero-sized elements).
    pub element_size: usize,
}

/// Size, alignment and field offsets of [`OpenLend`], for a C test to compare.
pub const OPEN_LEND_LAYOUT: (usize, usize, [usize; 3]) = (
    size_of::<OpenLend>(),
    align_of::<OpenLend>(),
    [
        offset_of!(OpenLend, buffer),
        offset_of!(OpenLend, capacity),
        offset_of!(OpenLend, element_size),
    ],
);

static_assertions::const_assert_eq!(size_of::<OpenLend>(), 3 * size_of::<usize>());
static_assertions::const_assert_eq!(align_of::<OpenLend>(), align_of::<usize>());
static_assertions::const_assert_eq!(offset_of!(OpenLend, element_size), 2 * size_of::<usize>());

/// Whether `capacity` may be lent as an open lend's ring.
pub const fn open_capacity_ok(capacity: usize) -> bool {
    capacity.is_power_of_two()
}
