//! The errors of the future's reads and write.

use core::fmt;

/// The reader is gone: the value was not delivered and comes back with
/// [`into_inner`](Self::into_inner).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WriteError<T>(pub T);

impl<T> WriteError<T> {
    /// The value that was not delivered.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for WriteError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteError(..)")
    }
}

impl<T> fmt::Display for WriteError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future's reader is gone")
    }
}

impl<T> std::error::Error for WriteError<T> {}

/// The future was closed without a value: its writer was dropped without writing (or the
/// value was already read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadError;

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future was closed without a value")
    }
}

impl std::error::Error for ReadError {}

/// Why [`FutureReader::try_read`](crate::FutureReader::try_read) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryReadError {
    /// The value has not been written yet.
    Empty,
    /// Closed without a value.
    Closed,
}

/// Why [`FutureReader::read_timeout`](crate::FutureReader::read_timeout) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadTimeoutError {
    /// The value was not written in time.
    Timeout,
    /// Closed without a value.
    Closed,
}

impl fmt::Display for TryReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryReadError::Empty => "the future has no value yet",
            TryReadError::Closed => "the future was closed without a value",
        })
    }
}

impl std::error::Error for TryReadError {}

impl fmt::Display for ReadTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadTimeoutError::Timeout => "timed out",
            ReadTimeoutError::Closed => "the future was closed without a value",
        })
    }
}

impl std::error::Error for ReadTimeoutError {}
