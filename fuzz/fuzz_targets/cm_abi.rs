//! Fuzz target `cm_abi`: stream-abi's canonical-ABI translation (`cm.rs`) against a model
//! written from the encoding's definition (`status | count << 4`, `0xffff_ffff` pending,
//! statuses 0..=2, counts of 28 bits; `ready_size` sentinels `BLOCKED`, `CLOSED`,
//! `CANCELLED`).
//!
//! For any input: `decode` of any `u32` is the model's answer and re-encodes to the same
//! code; `encode` of any result refuses a count above 28 bits and otherwise decodes back;
//! `from_ready_size` of any `isize` is the model's answer and round-trips through
//! `to_ready_size`; `to_ready_size` folds a status into a bare count as documented.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stream_abi::{CmError, CmResult, BLOCKED, CANCELLED, CLOSED, CM_BLOCKED, CM_MAX_COUNT};

#[derive(Arbitrary, Debug)]
enum Shape {
    Blocked,
    Completed(u32),
    Dropped(u32),
    Cancelled(u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    code: u32,
    ready_size: isize,
    /// A small `ready_size` near the sentinels and the 28-bit limit, where mistakes live.
    near: i8,
    result: Shape,
}

fn result(s: &Shape) -> CmResult {
    match *s {
        Shape::Blocked => CmResult::Blocked,
        Shape::Completed(n) => CmResult::Completed(n),
        Shape::Dropped(n) => CmResult::Dropped(n),
        Shape::Cancelled(n) => CmResult::Cancelled(n),
    }
}

fn model_decode(code: u32) -> Result<CmResult, CmError> {
    if code == u32::MAX {
        return Ok(CmResult::Blocked);
    }
    let count = code / 16;
    match code % 16 {
        0 => Ok(CmResult::Completed(count)),
        1 => Ok(CmResult::Dropped(count)),
        2 => Ok(CmResult::Cancelled(count)),
        s => Err(CmError::UnknownStatus(s)),
    }
}

fn model_from_ready_size(n: isize) -> Result<CmResult, CmError> {
    match n {
        -1 => Ok(CmResult::Blocked),
        isize::MIN => Ok(CmResult::Dropped(0)),
        0 => Ok(CmResult::Cancelled(0)),
        n if n < 0 => Err(CmError::InvalidReadySize(n)),
        n if n >= 1 << 28 => Err(CmError::CountTooLarge),
        n => Ok(CmResult::Completed(n as u32)),
    }
}

fn check_code(code: u32) {
    let decoded = CmResult::decode(code);
    assert_eq!(decoded, model_decode(code), "decode({code:#x})");
    if let Ok(r) = decoded {
        assert_eq!(r.encode(), Ok(code), "encode(decode({code:#x}))");
    }
}

fn check_ready_size(n: isize) {
    let r = CmResult::from_ready_size(n);
    assert_eq!(r, model_from_ready_size(n), "from_ready_size({n})");
    if let Ok(r) = r {
        assert_eq!(
            r.to_ready_size(),
            Ok(n),
            "to_ready_size(from_ready_size({n}))"
        );
    }
}

fn check_result(r: CmResult) {
    let count = match r {
        CmResult::Blocked => None,
        CmResult::Completed(n) | CmResult::Dropped(n) | CmResult::Cancelled(n) => Some(n),
    };
    match r.encode() {
        Ok(code) => {
            assert!(count.is_none_or(|n| n <= CM_MAX_COUNT), "{r:?} encoded");
            assert_eq!(code == CM_BLOCKED, r == CmResult::Blocked, "{r:?}");
            assert_eq!(CmResult::decode(code), Ok(r), "decode(encode({r:?}))");
        }
        Err(e) => {
            assert_eq!(e, CmError::CountTooLarge, "{r:?}");
            assert!(count.is_some_and(|n| n > CM_MAX_COUNT), "{r:?} refused");
        }
    }
    // `ready_size` keeps a count, not its status.
    let expected = match r {
        CmResult::Blocked => BLOCKED,
        CmResult::Dropped(0) => CLOSED,
        CmResult::Completed(0) | CmResult::Cancelled(0) => CANCELLED,
        CmResult::Completed(n) | CmResult::Dropped(n) | CmResult::Cancelled(n) => n as isize,
    };
    let rs = r.to_ready_size();
    assert_eq!(rs, Ok(expected), "to_ready_size({r:?})");
    // And back: the same `ready_size`, unless the count is beyond the encoding.
    let back = CmResult::from_ready_size(expected);
    match count {
        Some(n) if n > CM_MAX_COUNT => assert_eq!(back, Err(CmError::CountTooLarge)),
        _ => assert_eq!(
            back.and_then(CmResult::to_ready_size),
            Ok(expected),
            "{r:?}"
        ),
    }
}

fuzz_target!(|input: Input| {
    check_code(input.code);
    check_ready_size(input.ready_size);
    check_ready_size(isize::from(input.near));
    check_ready_size(CM_MAX_COUNT as isize + isize::from(input.near));
    check_ready_size(isize::MIN.wrapping_add(isize::from(input.near.unsigned_abs())));
    check_result(result(&input.result));
});
