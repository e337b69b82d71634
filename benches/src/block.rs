//! Buffers of the bulk rows: [`AlignedBlock`], a 64 KiB block at a chosen offset in a page, and
//! the copies into uninitialised memory ([`copy_to_uninit`], [`assume_init`]).
//!
//! May touch: the memory it allocates and the slices it is given; no thread, no I/O.

use std::fmt;
use std::mem::MaybeUninit;

use crate::BLOCK;

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
/// [`BytePattern`](crate::BytePattern) at the page offset of rtrb's ring.
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
