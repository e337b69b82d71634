//! Bits of the `state` word. The machine is described in `docs/design.md` ("stream-core").

/// Mask of the phase of the current read.
pub(crate) const PHASE: usize = 0b11;
/// No buffer lent. Buffer fields: reader's.
pub(crate) const IDLE: usize = 0b00;
/// A buffer is lent and not yet taken. Buffer fields: read-only for both sides.
pub(crate) const LENT: usize = 0b01;
/// The writer took the buffer and is writing into it. Buffer fields and the buffer: writer's.
pub(crate) const WRITING: usize = 0b10;
/// The writer committed a count. `ready_size` and the buffer: reader's.
pub(crate) const DONE: usize = 0b11;

/// The writer end is closed (explicitly, or its last handle dropped). Sticky.
pub(crate) const WRITER_CLOSED: usize = 1 << 2;
/// The reader end is closed (explicitly, or its last handle dropped). Sticky.
pub(crate) const READER_CLOSED: usize = 1 << 3;
/// A writer operation is in progress (waiting for a buffer, or holding one in `WRITING`).
pub(crate) const WRITER_BUSY: usize = 1 << 4;

/// A read is in progress on the reader end (taken before the lend, released when the phase
/// returns to IDLE).
pub(crate) const READER_BUSY: usize = 1 << 5;

/// The pending read's owner is gone: it handed the read, and the buffer the writer holds, to
/// whoever ends phase WRITING (the writer's commit or return finishes the read: it drops the
/// committed elements and frees the buffer with the function the reader stored in the
/// header's inline word). Set by the reader only in WRITING (CAS), cleared with the read's end.
/// Rust-only: no C-visible behaviour changes (see `docs/design.md`, "Orphaned reads").
pub(crate) const READ_ORPHANED: usize = 1 << 11;

/// The lent buffer is an *open lend* (a ring, `stream_abi::OpenLend`): the writer publishes
/// into it and gives it back after each write, and the reader consumes while it stays lent.
/// Set with the lend (IDLE -> LENT), kept through LENT <-> WRITING, cleared when the lend ends
/// (`docs/design.md`, "The open lend").
pub(crate) const OPEN: usize = 1 << 12;

/// Either end closed.
pub(crate) const CLOSED_ANY: usize = WRITER_CLOSED | READER_CLOSED;

#[inline(always)]
pub(crate) const fn phase(state: usize) -> usize {
    state & PHASE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_moves_are_xors() {
        // The transitions flip phase bits with `fetch_xor`; check each is the move it claims.
        assert_eq!(IDLE ^ LENT, LENT);
        assert_eq!(LENT ^ (LENT ^ WRITING), WRITING);
        assert_eq!(WRITING ^ (WRITING ^ DONE), DONE);
        assert_eq!(WRITING ^ (WRITING ^ LENT), LENT);
        assert_eq!(DONE ^ DONE, IDLE);
        for flags in [
            0,
            WRITER_CLOSED,
            READER_CLOSED,
            WRITER_BUSY,
            CLOSED_ANY | WRITER_BUSY,
        ] {
            assert_eq!(phase(flags | DONE), DONE);
            assert_eq!((flags | WRITING) ^ (WRITING ^ DONE) ^ flags, DONE);
        }
    }
}
