//! Iterating over a [`Reader`]: `for x in reader` (buffered, owns the reader) and
//! `reader.iter()` (one element per read, borrows the reader).

use std::collections::VecDeque;
use std::fmt;

use stream_events::{Backend, DefaultBackend};

use crate::raw::Wait;
use crate::Reader;

/// How many elements one read of an [`IntoIter`] lends room for: about 16 KiB of elements,
/// at least 1 and at most 1024.
const fn batch<T>() -> usize {
    match (16 * 1024usize).checked_div(core::mem::size_of::<T>()) {
        None => 1024,
        Some(0) => 1,
        Some(n) if n > 1024 => 1024,
        Some(n) => n,
    }
}

/// The iterator of `for x in reader`: yields the stream's elements in order until end of
/// stream. It reads in batches (a buffer of about 16 KiB of elements lent per read), so a
/// writer that writes many elements at once hands them over in one step, not one by one.
///
/// It ends at end of stream; while another handle of the reader end is reading, it waits its
/// turn. Elements it has read and not yet yielded are dropped with it.
pub struct IntoIter<T, B: Backend = DefaultBackend> {
    reader: Reader<T, B>,
    buf: VecDeque<T>,
}

impl<T, B: Backend> IntoIter<T, B> {
    /// The reader, and the elements read but not yet yielded.
    pub fn into_parts(mut self) -> (Reader<T, B>, Vec<T>) {
        let mut rest: Vec<T> = self.buf.into();
        self.reader.drain_ring(&mut rest);
        (self.reader, rest)
    }
}

impl<T, B: Backend> Iterator for IntoIter<T, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if let Some(v) = self.buf.pop_front() {
            return Some(v);
        }
        if self.reader.use_ring(true) {
            // The only reader handle keeps its ring lent open: elements sent one by one land
            // in it without a rendezvous each.
            return self.reader.ring_recv(Wait::Block).ok();
        }
        // Reuse the allocation: an empty deque becomes a `Vec` without copying.
        let mut vec = Vec::from(core::mem::take(&mut self.buf));
        let got = self.reader.read_append(&mut vec, batch::<T>());
        self.buf = VecDeque::from(vec);
        got.ok()?;
        self.buf.pop_front()
    }
}

impl<T, B: Backend> IntoIterator for Reader<T, B> {
    type Item = T;
    type IntoIter = IntoIter<T, B>;

    /// Iterates over the stream's elements until end of stream, reading in batches.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, reader) = stream_core::stream::<u32>();
    /// let t = std::thread::spawn(move || {
    ///     let items: Vec<u32> = (1..=100).collect();
    ///     let mut sent = 0;
    ///     while sent < items.len() {
    ///         sent += writer.write_slice(&items[sent..]).unwrap();
    ///     }
    /// }); // dropping the writer ends the stream
    /// let sum: u32 = reader.into_iter().sum();
    /// assert_eq!(sum, 5050);
    /// t.join().unwrap();
    /// ```
    fn into_iter(self) -> IntoIter<T, B> {
        IntoIter {
            reader: self,
            buf: VecDeque::new(),
        }
    }
}

/// The iterator of [`Reader::iter`]: one element per read ([`Reader::recv`]), until end of
/// stream. It holds no elements of its own, so dropping it loses nothing; for a batched
/// iteration, iterate over the reader itself (`for x in reader`).
pub struct Iter<'a, T, B: Backend = DefaultBackend> {
    reader: &'a mut Reader<T, B>,
}

impl<T, B: Backend> Iterator for Iter<'_, T, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.reader.use_ring(true) {
            return self.reader.ring_recv(Wait::Block).ok();
        }
        self.reader.recv().ok()
    }
}

impl<T, B: Backend> Reader<T, B> {
    /// Iterates over the stream's elements one read at a time, until end of stream, keeping
    /// the reader (while another handle of the reader end is reading, it waits its turn).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, mut reader) = stream_core::stream::<u8>();
    /// let t = std::thread::spawn(move || {
    ///     for b in *b"abc" {
    ///         writer.send(b).unwrap();
    ///     }
    /// });
    /// let got: Vec<u8> = reader.iter().collect();
    /// assert_eq!(got, b"abc");
    /// assert!(reader.recv().is_err()); // end of stream stays
    /// t.join().unwrap();
    /// ```
    pub fn iter(&mut self) -> Iter<'_, T, B> {
        Iter { reader: self }
    }
}

impl<'a, T, B: Backend> IntoIterator for &'a mut Reader<T, B> {
    type Item = T;
    type IntoIter = Iter<'a, T, B>;

    fn into_iter(self) -> Iter<'a, T, B> {
        self.iter()
    }
}

impl<T, B: Backend> fmt::Debug for IntoIter<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("reader", &self.reader)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

impl<T, B: Backend> fmt::Debug for Iter<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("reader", &self.reader)
            .finish()
    }
}
