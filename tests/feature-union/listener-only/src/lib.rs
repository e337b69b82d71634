//! Uses stream-core with only its `listener` feature: async loans on `Listener` streams, and
//! the default handle types, which must not change when another crate enables more features.

use stream_core::{Listener, Reader, Writer};

/// A `Listener` stream (async-capable).
pub fn async_pipe() -> (Writer<u8, Listener>, Reader<u8, Listener>) {
    stream_core::stream_with()
}

/// A stream with the default backend, named through the defaulted type parameter.
pub fn default_pipe() -> (Writer<u8>, Reader<u8>) {
    stream_core::stream()
}

/// Sends `value` through an async loan.
pub fn send_async(writer: &mut Writer<u8, Listener>, value: u8) -> bool {
    futures_lite::future::block_on(async {
        match writer.loan_async().await {
            Ok(loan) => loan.copy_from_slice(&[value]) == 1,
            Err(_) => false,
        }
    })
}
