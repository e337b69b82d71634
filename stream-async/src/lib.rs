//! futures-lite integration of native streams and futures (not yet implemented).
//!
//! This crate is a placeholder in the workspace so that the dependency order is fixed; it
//! exports nothing yet.
#![no_std]
