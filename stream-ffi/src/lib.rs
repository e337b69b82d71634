//! The C interface of native streams and futures (not yet implemented).
//!
//! This crate is a placeholder in the workspace; it exports nothing yet.
#![no_std]
