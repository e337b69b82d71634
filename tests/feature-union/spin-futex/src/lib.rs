//! Uses stream-core with `spin` and `futex`: a `Spin` stream and the default one.

use stream_core::{Futex, Reader, Spin, Writer};

/// A `Spin` stream.
pub fn spin_pipe() -> (Writer<u64, Spin>, Reader<u64, Spin>) {
    stream_core::stream_with()
}

/// The default stream, spelled with its backend: the default is `Futex` in every build.
pub fn default_pipe() -> (Writer<u64, Futex>, Reader<u64, Futex>) {
    stream_core::stream()
}
