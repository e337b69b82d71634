//! Error types: one small enum per operation. Errors of operations that failed to deliver a
//! value give it back (`into_inner`); `Debug` never requires `T: Debug`.

use core::fmt;

/// Why an operation failed, before it is shaped into the operation's own error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Closed,
    Busy,
    Empty,
    NotReady,
    Timeout,
}

macro_rules! read_error {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $msg:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$variant => $msg,)* })
            }
        }

        impl std::error::Error for $name {}

        impl From<Kind> for $name {
            fn from(kind: Kind) -> Self {
                match kind {
                    $(Kind::$variant => $name::$variant,)*
                    #[allow(unreachable_patterns)]
                    other => unreachable!("{other:?} is not a {}", stringify!($name)),
                }
            }
        }
    };
}

macro_rules! write_error {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $msg:literal),* $(,)? }) => {
        $(#[$doc])*
        ///
        /// The value that was not written comes back with [`into_inner`](Self::into_inner)
        /// (for writes from a `Vec` it is `()`: the elements stayed in the `Vec`).
        #[derive(Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name<T = ()> {
            $($(#[$vdoc])* $variant(T),)*
        }

        impl<T> $name<T> {
            /// The value that was not written.
            pub fn into_inner(self) -> T {
                match self { $($name::$variant(v) => v,)* }
            }

            /// The same error with the value replaced.
            pub fn map<U>(self, f: impl FnOnce(T) -> U) -> $name<U> {
                match self { $($name::$variant(v) => $name::$variant(f(v)),)* }
            }

            pub(crate) fn new(kind: Kind, value: T) -> Self {
                match kind {
                    $(Kind::$variant => $name::$variant(value),)*
                    #[allow(unreachable_patterns)]
                    other => unreachable!("{other:?} is not a {}", stringify!($name)),
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$variant(_) => concat!(stringify!($variant), "(..)"),)* })
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$variant(_) => $msg,)* })
            }
        }

        impl<T> std::error::Error for $name<T> {}
    };
}

read_error! {
    /// Why a blocking read returned no element.
    ReadError {
        /// End of stream (the writer closed and every element was delivered), or the reader
        /// end was closed.
        Closed => "stream closed",
        /// Another handle of the reader end has a read in progress.
        Busy => "another read is in progress",
    }
}

read_error! {
    /// Why a non-blocking read returned no element.
    TryReadError {
        /// No writer was waiting to write.
        Empty => "no writer is ready",
        /// End of stream, or the reader end was closed.
        Closed => "stream closed",
        /// Another handle of the reader end has a read in progress.
        Busy => "another read is in progress",
    }
}

read_error! {
    /// Why a read with a timeout returned no element.
    ReadTimeoutError {
        /// Nothing was written before the deadline.
        Timeout => "timed out",
        /// End of stream, or the reader end was closed.
        Closed => "stream closed",
        /// Another handle of the reader end has a read in progress.
        Busy => "another read is in progress",
    }
}

write_error! {
    /// Why a blocking write wrote nothing.
    WriteError {
        /// The reader end (or this writer end) is closed: nothing will ever be read.
        Closed => "stream closed",
        /// Another handle of the writer end has a write in progress.
        Busy => "another write is in progress",
    }
}

write_error! {
    /// Why a non-blocking write wrote nothing.
    TryWriteError {
        /// No reader was waiting with a buffer.
        NotReady => "no reader is ready",
        /// The reader end (or this writer end) is closed.
        Closed => "stream closed",
        /// Another handle of the writer end has a write in progress.
        Busy => "another write is in progress",
    }
}

write_error! {
    /// Why a write with a timeout wrote nothing.
    WriteTimeoutError {
        /// No reader lent a buffer before the deadline.
        Timeout => "timed out",
        /// The reader end (or this writer end) is closed.
        Closed => "stream closed",
        /// Another handle of the writer end has a write in progress.
        Busy => "another write is in progress",
    }
}
