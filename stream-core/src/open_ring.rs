//! The ring a Rust reader lends as an open lend (`raw/open.rs`): its allocation, the reader's
//! view of it (published elements at the front, free slots behind), and its end. Used by
//! [`ReadAhead`](crate::ReadAhead), [`BufferedReader`](crate::BufferedReader) and the
//! reader's own buffer (`reader.rs`); none of them hands a `T` out that the writer may still
//! write.

use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use stream_abi::OpenLend;
use stream_events::Backend;

use crate::buffered::{alloc_buffer, free_buffer};
use crate::error::ReadError;
use crate::raw::{OpenRustLend, RawStream, StartReadError, Wait};

/// A ring of `capacity` (a power of two) slots of `T` with the descriptor it is lent
/// through, and the reader's positions: slots `read..written` (modulo the capacity) hold
/// elements the reader has not consumed yet.
///
/// It has no `Drop`: its owner calls [`release`](Self::release) once, from its own drop
/// (with the stream, which the ring cannot reach by itself). A ring that is never released
/// leaks, which is safe: the writer never writes into freed memory.
pub(crate) struct OpenRing<T> {
    /// From `Box<OpenRustLend>`; its `lend.buffer` came from `alloc_buffer::<T>(capacity)`.
    desc: NonNull<OpenRustLend>,
    capacity: usize,
    read: usize,
    /// The reader's position as the writer sees it: consumption is published in steps of a
    /// quarter ring, and before every wait and end, so that a writer waiting for room is
    /// woken once per quarter, not once per element.
    published: usize,
    /// The writer's position, as last seen.
    written: usize,
    /// The ring is lent (an open read is pending, owned by us).
    lent: bool,
    /// How a wait lingers before it looks (see [`wait`](Self::wait)).
    linger: Linger,
    _elements: PhantomData<T>,
}

impl<T> OpenRing<T> {
    /// A ring of at least `capacity` slots (rounded up to a power of two; at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity
            .max(1)
            .checked_next_power_of_two()
            .expect("ring capacity overflows");
        let buffer = alloc_buffer::<T>(capacity);
        let desc = Box::new(OpenRustLend {
            lend: OpenLend {
                buffer: buffer.as_ptr().cast(),
                capacity,
                element_size: core::mem::size_of::<T>(),
            },
            finish: finish_ring::<T>,
        });
        Self {
            desc: NonNull::from(Box::leak(desc)),
            capacity,
            read: 0,
            published: 0,
            written: 0,
            lent: false,
            linger: Linger::default(),
            _elements: PhantomData,
        }
    }

    /// The ring's slot count.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the ring is lent (an open read is pending).
    pub(crate) fn is_lent(&self) -> bool {
        self.lent
    }

    /// Elements held and not consumed, as last seen ([`refresh`](Self::refresh) looks again).
    pub(crate) fn len(&self) -> usize {
        self.written.wrapping_sub(self.read)
    }

    fn buffer(&self) -> *mut MaybeUninit<T> {
        // SAFETY: the descriptor is ours and alive until `release`; its fields never change.
        unsafe { (*self.desc.as_ptr()).lend.buffer.cast() }
    }

    /// Lends the ring (an open lend), keeping the elements it holds.
    pub(crate) fn lend<B: Backend>(&mut self, raw: &RawStream<B>) -> Result<(), ReadError> {
        debug_assert!(!self.lent);
        // SAFETY: the descriptor describes our ring (a power of two of slots, valid for
        // `capacity` elements of `T`) and lives until `release`, which ends the lend first
        // (or hands it to the writer with its finisher); slots `read..written` hold elements.
        unsafe {
            raw.start_reading_open(
                self.desc.as_ptr().cast::<OpenLend>(),
                self.read,
                self.written,
            )
        }
        .map_err(|e| match e {
            StartReadError::Busy => ReadError::Busy,
            StartReadError::Closed | StartReadError::Empty => ReadError::Closed,
        })?;
        self.published = self.read;
        self.lent = true;
        Ok(())
    }

    /// Looks at the writer's position again; returns how many elements are held.
    pub(crate) fn refresh<B: Backend>(&mut self, raw: &RawStream<B>) -> usize {
        if self.lent {
            // SAFETY: we own the pending open lend.
            let (read, n) = unsafe { raw.open_readable() };
            debug_assert_eq!(read, self.published);
            debug_assert!(n <= self.capacity);
            self.written = read.wrapping_add(n);
        }
        self.len()
    }

    /// The held elements from the front, as far as they are contiguous (up to the ring's
    /// end), at most `max`.
    pub(crate) fn front(&self, max: usize) -> &[T] {
        let start = self.read & (self.capacity - 1);
        let n = self.len().min(self.capacity - start).min(max);
        // SAFETY: slots `read..written` hold initialised elements that the writer published
        // (acquired in `refresh`) and does not touch until we consume them; `n` of them from
        // `start` are contiguous. The borrow of `self` keeps them from being consumed.
        unsafe { core::slice::from_raw_parts(self.buffer().add(start).cast::<T>(), n) }
    }

    /// [`front`](Self::front), mutably.
    pub(crate) fn front_mut(&mut self, max: usize) -> &mut [T] {
        let start = self.read & (self.capacity - 1);
        let n = self.len().min(self.capacity - start).min(max);
        // SAFETY: as in `front`, with the exclusive borrow of `self`: the writer never touches
        // held slots.
        unsafe { core::slice::from_raw_parts_mut(self.buffer().add(start).cast::<T>(), n) }
    }

    /// The ring's address, for alignment checks.
    #[cfg(test)]
    pub(crate) fn address(&self) -> usize {
        self.buffer() as usize
    }

    /// Marks the first `n` held elements consumed without dropping them (the caller moved
    /// them out, or they need no drop), and frees their slots for the writer.
    ///
    /// # Safety
    ///
    /// `n` is at most [`len`](Self::len); the caller moved those elements out (or `T` needs
    /// no drop) and holds no reference to them.
    pub(crate) unsafe fn advance<B: Backend>(&mut self, raw: &RawStream<B>, n: usize) {
        debug_assert!(n <= self.len());
        if n == 0 {
            return;
        }
        self.read = self.read.wrapping_add(n);
        if self.read.wrapping_sub(self.published) >= (self.capacity / 4).max(1) {
            self.publish(raw);
        }
    }

    /// Tells the writer how far we consumed (and wakes it if it waits for room).
    pub(crate) fn publish<B: Backend>(&mut self, raw: &RawStream<B>) {
        let n = self.read.wrapping_sub(self.published);
        if self.lent && n > 0 {
            // SAFETY: we own the pending open lend; the `n` elements after the published
            // position were published by the writer (`refresh` saw them) and consumed.
            unsafe { raw.open_consume(n) };
        }
        self.published = self.read;
    }

    /// Moves the first held element out and consumes it.
    pub(crate) fn pop<B: Backend>(&mut self, raw: &RawStream<B>) -> Option<T> {
        if self.len() == 0 {
            return None;
        }
        let start = self.read & (self.capacity - 1);
        // SAFETY: slot `start` holds the first held element (see `front`); it is moved out
        // once: the advance below consumes it.
        let value = unsafe { self.buffer().add(start).cast::<T>().read() };
        // SAFETY: one element held, moved out above.
        unsafe { self.advance(raw, 1) };
        Some(value)
    }

    /// Moves up to `out.len()` held elements into `out` (bitwise, oldest first) and consumes
    /// them; returns how many. A copy per contiguous run, not per element.
    pub(crate) fn move_into<B: Backend>(
        &mut self,
        raw: &RawStream<B>,
        out: &mut [MaybeUninit<T>],
    ) -> usize {
        let mut n = 0;
        while n < out.len() && self.len() > 0 {
            let front = self.front(out.len() - n);
            let got = front.len();
            // SAFETY: `front` holds `got` initialised elements of the ring and `out[n..]` has
            // room for them (`front` is at most `out.len() - n` long); the two do not overlap
            // (`out` is the caller's). They are moved out bitwise here and consumed, not
            // dropped, below.
            unsafe {
                core::ptr::copy_nonoverlapping(front.as_ptr(), out[n..].as_mut_ptr().cast(), got)
            };
            // SAFETY: those `got` elements were moved out above.
            unsafe { self.advance(raw, got) };
            n += got;
        }
        n
    }

    /// Moves up to `max` held elements to the end of `vec`; returns how many.
    pub(crate) fn append_to<B: Backend>(
        &mut self,
        raw: &RawStream<B>,
        vec: &mut Vec<T>,
        max: usize,
    ) -> usize {
        let n = self.len().min(max);
        vec.reserve(n);
        let moved = self.move_into(raw, &mut vec.spare_capacity_mut()[..n]);
        // SAFETY: `move_into` initialised the first `moved` spare slots of `vec`.
        unsafe { vec.set_len(vec.len() + moved) };
        moved
    }

    /// Drops the first `n` held elements and consumes them.
    pub(crate) fn drop_front<B: Backend>(&mut self, raw: &RawStream<B>, n: usize) {
        let n = n.min(self.len());
        if !core::mem::needs_drop::<T>() {
            // SAFETY: `n` is at most `len`; the elements need no drop, so consuming them is
            // all there is to do.
            unsafe { self.advance(raw, n) };
            return;
        }
        // One at a time: each is consumed before it is dropped, so a panicking drop leaves
        // no dropped element held.
        for _ in 0..n {
            drop(self.pop(raw));
        }
    }

    /// Blocks until the writer publishes after our position or an end closes (or the
    /// deadline of `wait` passes: then `false`).
    ///
    /// A reader that keeps up with a writer sending element by element would otherwise look
    /// at the header's line after every element, taking the line from the writer each time
    /// (the writer's next take and commit then miss it twice): both sides run at the speed
    /// of the line's transfers, several times slower than either alone. So a blocking wait
    /// that finds the writer streaming first lingers (pauses without looking, see
    /// [`Linger`]), and the writer publishes a batch meanwhile.
    pub(crate) fn wait<B: Backend>(&mut self, raw: &RawStream<B>, wait: Wait) -> bool {
        debug_assert!(self.lent);
        self.publish(raw);
        let lingered = wait == Wait::Block && self.linger.pause();
        if lingered {
            let n = self.refresh(raw);
            self.linger.lingered(n);
            if n > 0 {
                return true;
            }
        }
        let ready = raw.wait_open(wait);
        if ready && !lingered {
            let n = self.refresh(raw);
            self.linger.waited(n);
        }
        ready
    }

    /// Whether the next blocking [`wait`](Self::wait) pauses before it looks: the writer
    /// was seen streaming. Never under loom, where a wait does not pause.
    pub(crate) fn lingering(&self) -> bool {
        self.linger.ns > 0 && !cfg!(stream_loom)
    }

    /// Ends the lend, waiting while the writer holds the ring (it never blocks while it
    /// does). The held elements stay in the ring, the caller's.
    pub(crate) fn end<B: Backend>(&mut self, raw: &RawStream<B>) {
        if self.lent {
            self.publish(raw);
            // SAFETY: we own the pending open lend.
            let (read, written) = unsafe { raw.end_open() };
            debug_assert_eq!(read, self.read);
            self.written = written;
            self.lent = false;
        }
    }

    /// [`end`](Self::end) without the wait: `false`, changing nothing, while the writer holds
    /// the ring.
    pub(crate) fn try_end<B: Backend>(&mut self, raw: &RawStream<B>) -> bool {
        if self.lent {
            self.publish(raw);
            // SAFETY: we own the pending open lend.
            match unsafe { raw.try_end_open() } {
                Some((_, written)) => {
                    self.written = written;
                    self.lent = false;
                }
                None => return false,
            }
        }
        true
    }

    /// Ends the lend without waiting and frees the ring, dropping the elements it holds;
    /// or, if the writer holds the ring right now, hands it to the stream, whose writer then
    /// drops them and frees it (`docs/design.md`, "The open lend"). The owner's drop calls
    /// it once and uses the ring no more.
    ///
    /// # Safety
    ///
    /// Called once; the ring is not used afterwards.
    pub(crate) unsafe fn release<B: Backend>(&mut self, raw: &RawStream<B>) {
        if self.lent {
            self.publish(raw);
            // SAFETY: we own the pending open lend; the descriptor is an `OpenRustLend`.
            match unsafe { raw.end_open_or_orphan() } {
                Some((_, written)) => self.written = written,
                // The writer holds the ring: it finishes it.
                None => return,
            }
            self.lent = false;
        }
        // SAFETY: the lend ended (or never was): the descriptor and ring are ours alone, and
        // slots `read..written` hold the elements not consumed.
        unsafe { finish_ring::<T>(self.desc.as_ptr().cast(), self.read, self.written) };
    }
}

// SAFETY: the ring's elements move between threads as the reader's do (`T: Send`); the
// allocation is owned by the ring.
unsafe impl<T: Send> Send for OpenRing<T> {}
// SAFETY: `&OpenRing` gives `&[T]` (needs `T: Sync`) and its counts.
unsafe impl<T: Sync> Sync for OpenRing<T> {}

/// Drops the elements at positions `read..written` of the ring of `lend` (an
/// `OpenRustLend` made by [`OpenRing::new`]) and frees ring and descriptor; the
/// [`OpenFinish`](crate::raw::OpenFinish) of a Rust reader's lend.
///
/// # Safety
///
/// As `OpenFinish` says: the lend ended and ring and descriptor are the caller's alone;
/// `lend` came from `OpenRing::<T>::new`.
unsafe fn finish_ring<T>(lend: *mut OpenLend, read: usize, written: usize) {
    // SAFETY: by the caller, a leaked `Box<OpenRustLend>`, ours alone now.
    let desc = unsafe { Box::from_raw(lend.cast::<OpenRustLend>()) };
    let capacity = desc.lend.capacity;
    let buffer = desc.lend.buffer.cast::<MaybeUninit<T>>();
    /// Frees the ring when dropped, also if an element's drop panics.
    struct Free<T>(NonNull<MaybeUninit<T>>, usize);
    impl<T> Drop for Free<T> {
        fn drop(&mut self) {
            // SAFETY: the ring came from `alloc_buffer::<T>(capacity)`; its elements were
            // dropped (or are being dropped by an unwinding loop that skips the rest).
            unsafe { free_buffer(self.0, self.1) };
        }
    }
    // SAFETY: `alloc_buffer` never returns null (dangling when zero-sized).
    let _free = Free(unsafe { NonNull::new_unchecked(buffer) }, capacity);
    /// Drops a slice of elements when dropped: the second part of the ring's elements is
    /// dropped even if a drop in the first part panics (as `drop_in_place` on one slice
    /// drops the rest of it).
    struct DropSlice<T>(*mut [T]);
    impl<T> Drop for DropSlice<T> {
        fn drop(&mut self) {
            // SAFETY: made below from initialised elements that nothing else drops.
            unsafe { core::ptr::drop_in_place(self.0) };
        }
    }
    let held = written.wrapping_sub(read);
    let start = read & (capacity - 1);
    let first = held.min(capacity - start);
    // SAFETY: positions `read..written` hold initialised elements: `first` from slot `start`
    // and the rest from slot 0; each is dropped once, by one of the two slices.
    let (head, tail) = unsafe {
        (
            core::ptr::slice_from_raw_parts_mut(buffer.add(start).cast::<T>(), first),
            core::ptr::slice_from_raw_parts_mut(buffer.cast::<T>(), held - first),
        )
    };
    let _tail = DropSlice(tail);
    drop(DropSlice(head));
    drop(desc);
}

impl<T> core::fmt::Debug for OpenRing<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenRing")
            .field("capacity", &self.capacity)
            .field("held", &self.len())
            .field("lent", &self.lent)
            .finish()
    }
}

/// When a blocking wait of the ring lingers: after a wait that was answered (the writer may
/// be streaming) it probes once with a short pause; if more than one element arrived during
/// the pause, the writer streams, and later waits linger too, the pause doubling while
/// fewer than [`Linger::BATCH`] elements arrive in one and halving while far more do (bulk
/// writes need none). A pause in which at most one arrives (a partner that answers
/// requests, or a slow writer) ends the lingering, and the next probe comes only after
/// [`Linger::COOLDOWN`] waits: a request-reply partner pays one probe per that many round
/// trips. Lingering is by the clock (a `spin_loop` hint lasts 10-150 cycles, depending on
/// the CPU), never longer than [`Linger::MAX_NS`], and only in blocking waits (timed
/// waits keep their deadlines exact).
#[derive(Debug, Default)]
struct Linger {
    /// The pause of the next wait, in nanoseconds (0: none).
    ns: u32,
    /// Waits before the next probe.
    cooldown: u32,
}

impl Linger {
    const PROBE_NS: u32 = 500;
    const MIN_NS: u32 = 250;
    const MAX_NS: u32 = 4_000;
    /// Elements a pause should gather: enough that the line's transfer is a small part.
    const BATCH: usize = 32;
    const COOLDOWN: u32 = 64;

    /// Pauses for the current linger, if any; returns whether it did.
    fn pause(&self) -> bool {
        if self.ns == 0 || cfg!(stream_loom) {
            return false;
        }
        let until = std::time::Instant::now() + core::time::Duration::from_nanos(self.ns.into());
        while std::time::Instant::now() < until {
            for _ in 0..8 {
                core::hint::spin_loop();
            }
        }
        true
    }

    /// After a pause in which `n` elements arrived.
    fn lingered(&mut self, n: usize) {
        if n <= 1 {
            self.stop();
        } else if n < Self::BATCH {
            self.ns = (self.ns * 2).min(Self::MAX_NS);
        } else if n > 4 * Self::BATCH {
            self.ns /= 2;
            if self.ns < Self::MIN_NS {
                self.stop();
            }
        }
    }

    /// After a wait without a pause, answered with `n` elements.
    fn waited(&mut self, n: usize) {
        if self.cooldown > 0 {
            self.cooldown -= 1;
        } else if n > 0 {
            self.ns = Self::PROBE_NS;
        }
    }

    fn stop(&mut self) {
        self.ns = 0;
        self.cooldown = Self::COOLDOWN;
    }
}

#[cfg(all(test, not(stream_loom)))]
mod tests {
    use super::Linger;

    #[test]
    fn a_streaming_writer_turns_lingering_on_and_up() {
        let mut l = Linger::default();
        assert_eq!(l.ns, 0, "no pause before anything is known");
        l.waited(1); // a wait answered: the writer may be streaming
        assert_eq!(l.ns, Linger::PROBE_NS);
        l.lingered(4); // several arrived during the pause: it streams, pause longer
        assert_eq!(l.ns, 2 * Linger::PROBE_NS);
        for _ in 0..10 {
            l.lingered(2);
        }
        assert_eq!(l.ns, Linger::MAX_NS, "never longer than the cap");
        l.lingered(Linger::BATCH); // enough per pause: kept
        assert_eq!(l.ns, Linger::MAX_NS);
    }

    #[test]
    fn one_element_a_pause_stops_it_for_the_cooldown() {
        let mut l = Linger::default();
        l.waited(1);
        l.lingered(1); // a partner answering requests: one at a time
        assert_eq!(l.ns, 0);
        for _ in 0..Linger::COOLDOWN {
            l.waited(1);
            assert_eq!(l.ns, 0, "no probe during the cooldown");
        }
        l.waited(1);
        assert_eq!(l.ns, Linger::PROBE_NS, "probes again after it");
        l.lingered(0); // nothing came: the writer stopped
        assert_eq!((l.ns, l.cooldown), (0, Linger::COOLDOWN));
    }

    #[test]
    fn bulk_writes_need_no_pause() {
        let mut l = Linger::default();
        l.waited(65_536);
        assert_eq!(l.ns, Linger::PROBE_NS);
        l.lingered(65_536); // far more than a batch per pause: shorter
        assert_eq!(l.ns, Linger::PROBE_NS / 2);
        l.lingered(65_536); // below the shortest: off
        assert_eq!(l.ns, 0);
    }

    #[test]
    fn a_pause_lasts_about_its_time() {
        let l = Linger {
            ns: Linger::PROBE_NS,
            cooldown: 0,
        };
        let start = std::time::Instant::now();
        assert!(l.pause());
        assert!(start.elapsed() >= core::time::Duration::from_nanos(Linger::PROBE_NS.into()));
        assert!(!Linger::default().pause(), "no pause when off");
    }
}
