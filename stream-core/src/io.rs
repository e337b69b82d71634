//! `std::io` for byte streams: `Read` for [`Reader<u8>`](Reader), `Write` for
//! [`Writer<u8>`](Writer), `BufRead` (and `Read`) for [`BufferedReader<u8>`](BufferedReader)
//! and [`ReadAhead<u8>`](ReadAhead), and [`Loan::read_from`], a safe fill of a lent buffer
//! from any `io::Read`.
//!
//! End of stream reads `Ok(0)`; a write after the reader end closed is
//! [`io::ErrorKind::BrokenPipe`]. A read or write while another handle of the same end is
//! mid-operation waits its turn; a `Busy` that reaches this layer anyway is
//! [`io::ErrorKind::Other`] with the stream's error inside.

use std::io;
use std::mem::MaybeUninit;

use stream_events::Backend;

use crate::batch::BatchWriter;
use crate::raw::Wait;
use crate::{BufferedReader, Loan, ReadAhead, ReadError, Reader, WriteError, Writer};

/// The stack buffer one `Read::read` of a [`Reader<u8>`](Reader) lends (the caller's `&mut
/// [u8]` cannot be lent: the writer may write uninitialised bytes into a lent buffer).
const READ_CHUNK: usize = 8 * 1024;

fn read_error(e: ReadError) -> io::Result<usize> {
    match e {
        ReadError::Closed => Ok(0),
        e => Err(io::Error::other(e)),
    }
}

/// A write error as `std::io` reports it: a closed stream is
/// [`BrokenPipe`](io::ErrorKind::BrokenPipe), anything else [`Other`](io::ErrorKind::Other),
/// with the stream's error inside.
impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Closed(()) => io::Error::new(io::ErrorKind::BrokenPipe, e),
            e => io::Error::other(e),
        }
    }
}

/// Reads bytes: lends a buffer of at most 8 KiB (of the caller's length) on the stack and
/// copies what the writer delivered into `buf`. For zero-copy reads, use
/// [`Reader::read_uninit`] with your own `MaybeUninit` buffer, or a [`BufferedReader`] /
/// [`ReadAhead`] through `BufRead`.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// let (mut writer, mut reader) = stream_core::stream::<u8>();
/// let t = std::thread::spawn(move || std::io::Write::write_all(&mut writer, b"hello"));
/// let mut got = Vec::new();
/// reader.read_to_end(&mut got).unwrap(); // ends at end of stream
/// assert_eq!(got, b"hello");
/// t.join().unwrap().unwrap();
/// ```
impl<B: Backend> io::Read for Reader<u8, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.use_ring(true) {
            // SAFETY: our handle keeps the header alive; the reference does not outlive `self`.
            let raw = unsafe { self.as_ptr().as_ref() };
            // The reader keeps its ring lent: the writer's writes land in it without waiting
            // for this call, and a small read is a copy out of it.
            let ring = match self.ring_fill(Wait::Block) {
                Ok(ring) => ring,
                Err(kind) => return read_error(kind.into()),
            };
            let front = ring.front(buf.len());
            let n = front.len();
            buf[..n].copy_from_slice(front);
            // SAFETY: `u8` needs no drop; the bytes were copied out above.
            unsafe { ring.advance(raw, n) };
            return Ok(n);
        }
        let mut tmp = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let len = buf.len().min(READ_CHUNK);
        match self.read_init(&mut tmp[..len]) {
            Ok(got) => {
                buf[..got.len()].copy_from_slice(got);
                Ok(got.len())
            }
            Err(e) => read_error(e),
        }
    }
}

/// Writes bytes: each `write` waits for the reader's next buffer and copies as much as fits
/// ([`Writer::write_slice`]); `flush` has nothing to do (a write returns once its bytes are
/// the reader's).
///
/// # Examples
///
/// ```
/// let (mut writer, reader) = stream_core::stream::<u8>();
/// let t = std::thread::spawn(move || {
///     let mut reader = reader;
///     let mut got = Vec::new();
///     std::io::copy(&mut reader, &mut got).unwrap();
///     got
/// });
/// std::io::copy(&mut &b"some bytes"[..], &mut writer).unwrap();
/// drop(writer); // end of stream
/// assert_eq!(t.join().unwrap(), b"some bytes");
/// ```
impl<B: Backend> io::Write for Writer<u8, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.write_slice(buf).map_err(io::Error::from)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes bytes into the reader's lent buffer, as a `BufWriter` writes into its own: `write`
/// waits only for a lend, copies what fits and returns; the buffer is committed to the reader
/// when it is full, at [`flush`](io::Write::flush) and at the drop. Many small writes (a
/// `writeln!` per line, a serializer's tokens) are one hand-off per lent buffer.
///
/// Bytes that `write` accepted are delivered by the next commit. If the reader is dropped
/// while they are held, nobody can read them: `flush` then fails with
/// [`BrokenPipe`](io::ErrorKind::BrokenPipe) and [`BatchWriter::take_undelivered`] gives them
/// back; a write after the reader end closed fails with `BrokenPipe` too.
///
/// # Examples
///
/// ```
/// use std::io::{self, BufRead, Write};
///
/// let (writer, reader) = stream_core::stream::<u8>();
/// let t = std::thread::spawn(move || {
///     let mut writer = stream_core::BatchWriter::new(writer);
///     for i in 0..3 {
///         writeln!(writer, "line {i}")?;
///     }
///     writer.flush()
/// });
/// let lines: Vec<String> = stream_core::BufferedReader::new(reader, 4096)
///     .lines()
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(lines, ["line 0", "line 1", "line 2"]);
/// t.join().unwrap().unwrap();
/// ```
impl<B: Backend> io::Write for BatchWriter<u8, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.hold().map_err(io::Error::from)?;
        Ok(self.push_slice(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.commit_held() {
            Ok(_) => Ok(()),
            Err(n) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("the reader was dropped: {n} bytes not delivered (take_undelivered)"),
            )),
        }
    }
}

/// `BufRead` over the reader's own buffer: `fill_buf` blocks until bytes are delivered (an
/// empty slice at end of stream), `consume` drops them.
impl<B: Backend> io::BufRead for BufferedReader<u8, B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Err(e) = self.fill() {
            read_error(e)?;
        }
        Ok(self.buffer())
    }

    fn consume(&mut self, amt: usize) {
        BufferedReader::consume(self, amt.min(self.buffer().len()));
    }
}

/// `Read` through `BufRead` (one copy out of the reader's buffer).
impl<B: Backend> io::Read for BufferedReader<u8, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        copy_from_buf_read(self, buf)
    }
}

/// `BufRead` over the read-ahead chunks: `fill_buf` returns the rest of the current chunk,
/// or blocks for the next (the writer meanwhile fills the other buffer); an empty slice at
/// end of stream. Mixing it with [`ReadAhead::next_chunk`] is allowed: `next_chunk` drops
/// what `BufRead` left of the current chunk.
///
/// # Examples
///
/// ```
/// use std::io::BufRead;
/// let (mut writer, reader) = stream_core::stream::<u8>();
/// let t = std::thread::spawn(move || {
///     for line in [&b"one\ntw"[..], b"o\nthree\n"] {
///         writer.write_slice(line).unwrap();
///     }
/// });
/// let reader = stream_core::ReadAhead::new(reader, 4096);
/// let lines: Vec<String> = reader.lines().map(Result::unwrap).collect();
/// assert_eq!(lines, ["one", "two", "three"]);
/// t.join().unwrap();
/// ```
impl<B: Backend> io::BufRead for ReadAhead<u8, B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.fill_rest() {
            Ok(rest) => Ok(rest),
            Err(ReadError::Closed) => Ok(&[]),
            Err(e) => Err(io::Error::other(e)),
        }
    }

    fn consume(&mut self, amt: usize) {
        self.consume_rest(amt);
    }
}

/// `Read` through `BufRead` (one copy out of the read-ahead buffers).
impl<B: Backend> io::Read for ReadAhead<u8, B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        copy_from_buf_read(self, buf)
    }
}

fn copy_from_buf_read(r: &mut impl io::BufRead, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let rest = r.fill_buf()?;
    let n = rest.len().min(buf.len());
    buf[..n].copy_from_slice(&rest[..n]);
    r.consume(n);
    Ok(n)
}

impl<B: Backend> Loan<'_, u8, B> {
    /// Fills the loan from `source` with one `read` and commits what it read: the bytes go
    /// from `source` straight into the reader's buffer, with no copy in between. The loan is
    /// zeroed first (`io::Read` takes initialised memory), one pass over its capacity.
    ///
    /// Returns how many bytes were committed; `Ok(0)` when `source` is at its end (the loan is
    /// then returned to the stream, the reader's read stays pending).
    ///
    /// # Errors
    ///
    /// What `source` returned; the loan is returned to the stream, nothing is committed.
    /// [`io::ErrorKind::BrokenPipe`] when the reader was dropped while the loan was held: the
    /// bytes read from `source` were not delivered (nobody will read them).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, mut reader) = stream_core::stream::<u8>();
    /// let t = std::thread::spawn(move || {
    ///     let mut source = &b"from a file"[..];
    ///     let mut sent = 0;
    ///     // A loan per read; the source's end (0) or the reader's end (no loan) stops it.
    ///     while let Ok(loan) = writer.loan() {
    ///         match loan.read_from(&mut source).unwrap() {
    ///             0 => break,
    ///             n => sent += n,
    ///         }
    ///     }
    ///     sent
    /// });
    /// let mut got = Vec::new();
    /// while got.len() < 11 {
    ///     reader.read_append(&mut got, 64).unwrap();
    /// }
    /// assert_eq!(got, b"from a file");
    /// drop(reader);
    /// assert_eq!(t.join().unwrap(), 11);
    /// ```
    pub fn read_from(mut self, source: &mut impl io::Read) -> io::Result<usize> {
        let buf = self.as_uninit_mut();
        buf.fill(MaybeUninit::new(0));
        // SAFETY: every byte was just initialised; `MaybeUninit<u8>` has the layout of `u8`.
        let buf = unsafe { &mut *(core::ptr::from_mut(buf) as *mut [u8]) };
        let n = source.read(buf)?;
        assert!(
            n <= buf.len(),
            "a reader returned {n} for {} bytes",
            buf.len()
        );
        // SAFETY: the first `n` bytes (the whole buffer) are initialised: zeroed, then read
        // into.
        match unsafe { self.commit_delivered(n) } {
            Ok(()) => Ok(n),
            Err(_orphaned) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the reader was dropped: the bytes read were not delivered",
            )),
        }
    }
}
