//! Translation to and from the Component Model's result encoding.
//!
//! The canonical ABI reports the result of `stream.read`/`stream.write` (and the future
//! equivalents) as one `u32`: [`CM_BLOCKED`] (`0xffff_ffff`) when the operation is pending,
//! otherwise `status | count << 4` with the status in the low four bits and the number of
//! elements copied in the upper 28 bits.

use crate::{BLOCKED, CANCELLED, CLOSED};

/// The canonical ABI's "operation pending" code.
pub const CM_BLOCKED: u32 = 0xffff_ffff;
/// Status: the operation completed.
pub const CM_COMPLETED: u32 = 0;
/// Status: the other end was dropped.
pub const CM_DROPPED: u32 = 1;
/// Status: the operation was cancelled.
pub const CM_CANCELLED: u32 = 2;
/// Largest count the encoding can carry (`2^28 - 1`).
pub const CM_MAX_COUNT: u32 = (1 << 28) - 1;

/// A decoded Component Model result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmResult {
    /// The operation is pending.
    Blocked,
    /// The operation completed after copying this many elements.
    Completed(u32),
    /// The other end was dropped; this many elements were copied before.
    Dropped(u32),
    /// The operation was cancelled; this many elements were copied before.
    Cancelled(u32),
}

/// Why a translation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmError {
    /// The count does not fit in the encoding's 28 bits (or in an `isize`).
    CountTooLarge,
    /// The code has a status the Component Model does not define.
    UnknownStatus(u32),
    /// The `ready_size` value is negative but not a sentinel.
    InvalidReadySize(isize),
}

impl CmResult {
    /// Encodes as the canonical ABI's `u32`.
    ///
    /// # Errors
    ///
    /// [`CmError::CountTooLarge`] when the count is above [`CM_MAX_COUNT`]: a count is never
    /// truncated.
    ///
    /// # Examples
    ///
    /// ```
    /// use stream_abi::CmResult;
    /// assert_eq!(CmResult::Completed(3).encode(), Ok(3 << 4));
    /// assert_eq!(CmResult::Blocked.encode(), Ok(0xffff_ffff));
    /// ```
    pub const fn encode(self) -> Result<u32, CmError> {
        let (status, count) = match self {
            CmResult::Blocked => return Ok(CM_BLOCKED),
            CmResult::Completed(n) => (CM_COMPLETED, n),
            CmResult::Dropped(n) => (CM_DROPPED, n),
            CmResult::Cancelled(n) => (CM_CANCELLED, n),
        };
        if count > CM_MAX_COUNT {
            return Err(CmError::CountTooLarge);
        }
        Ok(status | count << 4)
    }

    /// Decodes a canonical ABI `u32`.
    ///
    /// # Errors
    ///
    /// [`CmError::UnknownStatus`] for a status other than completed, dropped or cancelled.
    pub const fn decode(code: u32) -> Result<Self, CmError> {
        if code == CM_BLOCKED {
            return Ok(CmResult::Blocked);
        }
        let count = code >> 4;
        match code & 0xf {
            CM_COMPLETED => Ok(CmResult::Completed(count)),
            CM_DROPPED => Ok(CmResult::Dropped(count)),
            CM_CANCELLED => Ok(CmResult::Cancelled(count)),
            status => Err(CmError::UnknownStatus(status)),
        }
    }

    /// Translates a `ready_size` value: [`BLOCKED`] is pending, [`CLOSED`] is the writer
    /// dropped with no element, [`CANCELLED`] is cancelled with no element and a positive count
    /// is completed.
    ///
    /// # Errors
    ///
    /// [`CmError::CountTooLarge`] for a count above [`CM_MAX_COUNT`];
    /// [`CmError::InvalidReadySize`] for a negative value that is not a sentinel.
    pub const fn from_ready_size(ready_size: isize) -> Result<Self, CmError> {
        match ready_size {
            BLOCKED => Ok(CmResult::Blocked),
            CLOSED => Ok(CmResult::Dropped(0)),
            CANCELLED => Ok(CmResult::Cancelled(0)),
            n if n < 0 => Err(CmError::InvalidReadySize(n)),
            n if n as usize > CM_MAX_COUNT as usize => Err(CmError::CountTooLarge),
            n => Ok(CmResult::Completed(n as u32)),
        }
    }

    /// Translates to a `ready_size` value: the inverse of [`CmResult::from_ready_size`].
    ///
    /// `ready_size` has no room for a status beside a count, so a result that copied elements
    /// becomes that count whatever its status (the end or the cancel shows on the next
    /// operation), and a completed copy of zero elements becomes [`CANCELLED`], the design's
    /// "ended with no element".
    ///
    /// # Errors
    ///
    /// [`CmError::CountTooLarge`] when the count does not fit in an `isize` (only possible on
    /// 16-bit targets).
    pub const fn to_ready_size(self) -> Result<isize, CmError> {
        let n = match self {
            CmResult::Blocked => return Ok(BLOCKED),
            CmResult::Dropped(0) => return Ok(CLOSED),
            CmResult::Completed(n) | CmResult::Dropped(n) | CmResult::Cancelled(n) => n,
        };
        if n as u64 > isize::MAX as u64 {
            return Err(CmError::CountTooLarge);
        }
        Ok(n as isize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_layout_is_status_then_count() {
        assert_eq!(CmResult::Completed(0).encode(), Ok(0));
        assert_eq!(CmResult::Completed(1).encode(), Ok(0x10));
        assert_eq!(CmResult::Dropped(2).encode(), Ok(0x21));
        assert_eq!(CmResult::Cancelled(5).encode(), Ok(0x52));
        assert_eq!(CmResult::Completed(CM_MAX_COUNT).encode(), Ok(0xffff_fff0));
        assert_eq!(CmResult::Blocked.encode(), Ok(CM_BLOCKED));
    }

    #[test]
    fn counts_that_do_not_fit_are_errors() {
        assert_eq!(
            CmResult::Completed(CM_MAX_COUNT + 1).encode(),
            Err(CmError::CountTooLarge)
        );
        assert_eq!(
            CmResult::Dropped(u32::MAX).encode(),
            Err(CmError::CountTooLarge)
        );
        assert_eq!(
            CmResult::from_ready_size(CM_MAX_COUNT as isize + 1),
            Err(CmError::CountTooLarge)
        );
    }

    #[test]
    fn decode_inverts_encode() {
        for r in [
            CmResult::Blocked,
            CmResult::Completed(0),
            CmResult::Completed(7),
            CmResult::Dropped(0),
            CmResult::Dropped(9),
            CmResult::Cancelled(0),
            CmResult::Cancelled(CM_MAX_COUNT),
        ] {
            assert_eq!(CmResult::decode(r.encode().unwrap()), Ok(r));
        }
        assert_eq!(CmResult::decode(0x13), Err(CmError::UnknownStatus(3)));
        assert_eq!(CmResult::decode(0xf), Err(CmError::UnknownStatus(0xf)));
    }

    #[test]
    fn ready_size_round_trips() {
        for rs in [BLOCKED, CLOSED, CANCELLED, 1, 42, CM_MAX_COUNT as isize] {
            let cm = CmResult::from_ready_size(rs).unwrap();
            assert_eq!(cm.to_ready_size(), Ok(rs));
        }
        assert_eq!(
            CmResult::from_ready_size(-2),
            Err(CmError::InvalidReadySize(-2))
        );
        assert_eq!(CmResult::from_ready_size(BLOCKED), Ok(CmResult::Blocked));
        assert_eq!(CmResult::from_ready_size(CLOSED), Ok(CmResult::Dropped(0)));
        assert_eq!(CmResult::Dropped(3).to_ready_size(), Ok(3));
        assert_eq!(CmResult::Completed(0).to_ready_size(), Ok(CANCELLED));
    }

    #[test]
    fn translations_are_const() {
        const ENC: Result<u32, CmError> = CmResult::Completed(2).encode();
        const DEC: Result<CmResult, CmError> = CmResult::decode(0x21);
        assert_eq!(ENC, Ok(0x20));
        assert_eq!(DEC, Ok(CmResult::Dropped(2)));
    }
}
