//! Nothing to link: the programs are the tests of this crate (`tests/`).
//!
//! Each is written as a user of pipes, sockets, channels and their crates (flate2,
//! serde_json, std `io`, tokio, tokio-util, futures) writes it, with native-stream plugged
//! in where the pipe, the socket or the channel would go. Every call is method syntax or a
//! free function the user's crate documents; none is qualified
//! (`Trait::method(&mut x)`, `<T as Trait>::`) to get past a name of ours.
