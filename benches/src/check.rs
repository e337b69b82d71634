//! The data of the bulk rows and the readers' checks: the byte stream [`BytePattern`], its
//! checksum [`byte_sum`], and the checks [`ByteCheck`] and [`U64Check`] every bulk reader
//! runs while it is timed.
//!
//! May touch: the memory it allocates; no thread, no I/O.

use std::fmt;

use crate::{AlignedBlock, BLOCK};

/// Wrapping sum of `bytes`, fast: each 256-byte piece is summed in `u16` lanes (256 × 255 <
/// 2¹⁶, so no lane overflows), which LLVM vectorises.
///
/// Never inlined: the bulk rows are often bound by this check, so every row runs the same
/// machine code. Inlined, each row had its own copy of the loop, and two builds that differed
/// only in other functions ran crossbeam's rows at 6.7 and 9.5 GiB/s (same machine, same
/// minute, native rows equal); one shared copy rules its placement out as a cause.
#[inline(never)]
pub fn byte_sum(bytes: &[u8]) -> u64 {
    bytes
        .chunks(256)
        .map(|piece| {
            u64::from(
                piece
                    .iter()
                    .fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b))),
            )
        })
        .fold(0, u64::wrapping_add)
}

/// Distinct blocks of the [`BytePattern`], repeated in turn.
pub(crate) const PATTERN_BLOCKS: usize = 7;

/// The byte stream of the bulk benchmarks: byte `i` is byte `i % BLOCK` of block
/// `(i / BLOCK) % 7` of seven fixed pseudo-random [`BLOCK`]-sized blocks.
pub struct BytePattern {
    blocks: Vec<AlignedBlock>,
    sums: Vec<u64>,
}

impl BytePattern {
    /// The pattern (always the same seed), in page-aligned blocks.
    pub fn new() -> Self {
        Self::with_page_offset(0)
    }

    /// The pattern in blocks that start `offset` bytes after a page boundary (see
    /// [`AlignedBlock`] for why).
    ///
    /// # Panics
    ///
    /// When `offset` is not less than [`PAGE`](crate::PAGE).
    pub fn with_page_offset(offset: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(0x6e61_7469_7665);
        let blocks: Vec<AlignedBlock> = (0..PATTERN_BLOCKS)
            .map(|_| {
                let bytes: Vec<u8> = (0..BLOCK).map(|_| rng.u8(..)).collect();
                let mut block = AlignedBlock::with_page_offset(offset);
                block.fill_from(&bytes);
                block
            })
            .collect();
        let sums = blocks.iter().map(|b| byte_sum(b.as_bytes())).collect();
        Self { blocks, sums }
    }

    /// The bytes of the stream from `offset` to the end of the block that holds it (at most
    /// [`BLOCK`] bytes, at least 1).
    #[inline]
    pub fn rest_of_block(&self, offset: u64) -> &[u8] {
        let block = (offset / BLOCK as u64 % PATTERN_BLOCKS as u64) as usize;
        &self.blocks[block].as_bytes()[(offset % BLOCK as u64) as usize..]
    }

    /// Byte `offset` of the stream.
    #[inline]
    pub fn byte_at(&self, offset: u64) -> u8 {
        self.rest_of_block(offset)[0]
    }

    /// The wrapping [`byte_sum`] of the first `total` bytes of the stream.
    pub fn expected_sum(&self, total: u64) -> u64 {
        let full = total / BLOCK as u64;
        let n = PATTERN_BLOCKS as u64;
        let mut sum = 0u64;
        for (j, block_sum) in self.sums.iter().enumerate() {
            let times = full / n + u64::from((j as u64) < full % n);
            sum = sum.wrapping_add(block_sum.wrapping_mul(times));
        }
        let tail = (total % BLOCK as u64) as usize;
        let last = &self.rest_of_block(full * BLOCK as u64)[..tail];
        sum.wrapping_add(byte_sum(last))
    }
}

impl Default for BytePattern {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BytePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BytePattern")
            .field("blocks", &self.blocks)
            .finish()
    }
}

/// The reader's check of a [`BytePattern`] stream, chunk by chunk: the first and last byte of
/// every chunk must be the pattern's at that position, and at the end the count and the
/// [`byte_sum`] of everything received must match.
#[derive(Debug)]
pub struct ByteCheck<'a> {
    pattern: &'a BytePattern,
    offset: u64,
    sum: u64,
}

impl<'a> ByteCheck<'a> {
    /// A check at offset 0.
    pub fn new(pattern: &'a BytePattern) -> Self {
        Self {
            pattern,
            offset: 0,
            sum: 0,
        }
    }

    /// Checks the next `chunk` of the stream.
    ///
    /// # Panics
    ///
    /// When its first or last byte is not the pattern's.
    #[inline]
    pub fn check(&mut self, chunk: &[u8]) {
        let len = chunk.len() as u64;
        if let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) {
            assert_eq!(
                first,
                self.pattern.byte_at(self.offset),
                "at {}",
                self.offset
            );
            let end = self.offset + len - 1;
            assert_eq!(last, self.pattern.byte_at(end), "at {end}");
        }
        self.sum = self.sum.wrapping_add(byte_sum(chunk));
        self.offset += len;
    }

    /// Asserts that exactly `total` bytes were checked and that their sum is right.
    ///
    /// # Panics
    ///
    /// When the count or the sum is wrong.
    pub fn finish(self, total: u64) {
        assert_eq!(self.offset, total, "byte count");
        assert_eq!(self.sum, self.pattern.expected_sum(total), "byte checksum");
    }
}

/// The reader's check of the `u64` stream `0, 1, 2, …`: the first and last element of every
/// chunk must be in place, and at the end the count and the wrapping sum must match.
#[derive(Debug, Default)]
pub struct U64Check {
    next: u64,
    sum: u64,
}

impl U64Check {
    /// A check expecting 0 next.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next `chunk` of the stream.
    ///
    /// # Panics
    ///
    /// When its first or last element is out of place.
    #[inline]
    pub fn check(&mut self, chunk: &[u64]) {
        if let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) {
            assert_eq!(first, self.next);
            assert_eq!(last, self.next + chunk.len() as u64 - 1);
        }
        self.sum = chunk.iter().fold(self.sum, |s, &v| s.wrapping_add(v));
        self.next += chunk.len() as u64;
    }

    /// Checks the next element of the stream (a chunk of one).
    ///
    /// # Panics
    ///
    /// When `value` is out of place.
    #[inline]
    pub fn check_one(&mut self, value: u64) {
        assert_eq!(value, self.next);
        self.sum = self.sum.wrapping_add(value);
        self.next += 1;
    }

    /// Asserts that exactly `total` elements were checked and that their sum is right.
    ///
    /// # Panics
    ///
    /// When the count or the sum is wrong.
    pub fn finish(self, total: u64) {
        assert_eq!(self.next, total, "element count");
        let expected = (u128::from(total) * u128::from(total.saturating_sub(1)) / 2) as u64;
        assert_eq!(self.sum, expected, "element checksum");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PAGE;

    #[test]
    fn byte_check_accepts_the_pattern_in_any_chunking() {
        let pattern = BytePattern::new();
        let total = 3 * BLOCK as u64 + 1000;
        let mut all = Vec::new();
        let mut offset = 0;
        while offset < total {
            let rest = pattern.rest_of_block(offset);
            let n = rest.len().min((total - offset) as usize);
            all.extend_from_slice(&rest[..n]);
            offset += n as u64;
        }
        for chunk_len in [1, 7, 4096, BLOCK, 100_000] {
            let mut check = ByteCheck::new(&pattern);
            for chunk in all.chunks(chunk_len) {
                check.check(chunk);
            }
            check.finish(total);
        }
    }

    #[test]
    #[should_panic(expected = "at 65536")]
    fn byte_check_rejects_a_repeated_block() {
        let pattern = BytePattern::new();
        let mut check = ByteCheck::new(&pattern);
        check.check(pattern.rest_of_block(0));
        check.check(pattern.rest_of_block(0));
    }

    #[test]
    fn patterns_agree_at_any_page_offset() {
        let aligned = BytePattern::new();
        let shifted = BytePattern::with_page_offset(16);
        assert_eq!(
            aligned.rest_of_block(BLOCK as u64 + 5),
            shifted.rest_of_block(BLOCK as u64 + 5)
        );
        assert_eq!(aligned.rest_of_block(0).as_ptr() as usize % PAGE, 0);
        assert_eq!(shifted.rest_of_block(0).as_ptr() as usize % PAGE, 16);
        assert_eq!(aligned.expected_sum(1 << 20), shifted.expected_sum(1 << 20));
    }

    #[test]
    fn u64_check_accepts_the_sequence() {
        let values: Vec<u64> = (0..5000).collect();
        let mut check = U64Check::new();
        for chunk in values.chunks(1024) {
            check.check(chunk);
        }
        check.finish(5000);
    }
}
