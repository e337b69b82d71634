//! The runtime's functions declared as wit-bindgen's symmetric code generator declares them
//! (`stream_import.rs` of the generated client: `extern "C"`, these names, handles as
//! `*mut u8`, `u64` as `i64`, results through a return area), with thin wrappers that read
//! the return areas as the generated code does. The symbols come from the `rlib` of this
//! crate (`use symmetric_stream as _`); generated code gets them with
//! `#[link(name = "symmetric_stream")]`, as the C++ test does with `-l symmetric_stream`.
#![allow(dead_code, unreachable_pub, non_snake_case, missing_docs)]

use symmetric_stream as _;

extern "C" {
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_subscription(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_generator(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_registration(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Eready(
        _: *mut u8,
    ) -> i32;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Devent_subscriptionX2Efrom_timeout(
        _: i64,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Edup(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Ereset(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BconstructorX5Devent_generator(
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Esubscribe(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Eactivate(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Dcallback_registrationX2Ecancel(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00run();
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00register(
        _: *mut u8,
        _: *mut u8,
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00block_on(_: *mut u8);

    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Daddress(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dbuffer(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dstream_obj(
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dbuffer(
        _: *mut u8,
        _: i64,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_address(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_size(
        _: *mut u8,
    ) -> i64;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eset_size(
        _: *mut u8,
        _: i64,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Ecapacity(
        _: *mut u8,
    ) -> i64;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dstream_obj(
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclone(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_write_closed(
        _: *mut u8,
    ) -> i32;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_reading(
        _: *mut u8,
        _: *mut u8,
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_ready_subscribe(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclose_read(
        _: *mut u8,
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_result(
        _: *mut u8,
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_read_closed(
        _: *mut u8,
    ) -> i32;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_writing(
        _: *mut u8,
        _: *mut u8,
    );
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Ewrite_ready_subscribe(
        _: *mut u8,
    ) -> *mut u8;
    pub fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Efinish_writing(
        _: *mut u8,
        _: i32,
        _: *mut u8,
    );
}

/// The generated code's return area: two pointer-sized words.
#[repr(C, align(8))]
pub struct RetArea([u8; 16]);

impl RetArea {
    pub fn new() -> Self {
        RetArea([0xAA; 16])
    }
    pub fn tag(&self) -> u8 {
        self.0[0]
    }
    pub fn word(&self, i: usize) -> usize {
        usize::from_ne_bytes(self.0[i * 8..i * 8 + 8].try_into().unwrap())
    }
    pub fn ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }
    /// Word `i` as the handle the runtime stored there (read as a pointer, so that it keeps
    /// the pointer's provenance: Miri checks that).
    pub fn handle(&self, i: usize) -> Handle {
        unsafe { self.0.as_ptr().add(i * 8).cast::<Handle>().read_unaligned() }
    }
}

pub type Handle = *mut u8;

/// A handle sent to another thread (raw pointers are not `Send`; a pointer-to-integer round
/// trip would lose its provenance, which Miri checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sendable(pub Handle);
// SAFETY: handles are thread-safe (the runtime's objects are `Send + Sync`).
unsafe impl Send for Sendable {}

impl Sendable {
    /// The handle (a method, so that a closure captures the whole `Sendable`).
    pub fn get(self) -> Handle {
        self.0
    }
}

/// `callback-state`.
pub const PENDING: u8 = 0;
pub const READY: u8 = 1;
/// `stream-state`.
pub const EOF: u8 = 0;
pub const WOULD_BLOCK: u8 = 1;

pub unsafe fn stream_new() -> Handle {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dstream_obj()
}
pub unsafe fn stream_clone(s: Handle) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclone(s)
}
pub unsafe fn stream_drop(s: Handle) {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dstream_obj(s)
}
pub unsafe fn buffer_new(addr: *mut u8, cap: u64) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dbuffer(addr, cap as i64)
}
pub unsafe fn buffer_drop(b: Handle) {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dbuffer(b)
}
pub unsafe fn buffer_addr(b: Handle) -> *mut u8 {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_address(b)
}
pub unsafe fn buffer_size(b: Handle) -> u64 {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_size(b) as u64
}
pub unsafe fn buffer_set_size(b: Handle, n: u64) {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eset_size(b, n as i64)
}
pub unsafe fn buffer_capacity(b: Handle) -> u64 {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Ecapacity(b) as u64
}
pub unsafe fn is_write_closed(s: Handle) -> bool {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_write_closed(s)
        != 0
}
pub unsafe fn is_read_closed(s: Handle) -> bool {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_read_closed(s)
        != 0
}
/// `Ok(())` or `Err(buffer)`.
pub unsafe fn start_reading(s: Handle, b: Handle) -> Result<(), Handle> {
    let mut r = RetArea::new();
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_reading(
        s,
        b,
        r.ptr(),
    );
    match r.tag() {
        0 => Ok(()),
        1 => Err(r.handle(1)),
        t => panic!("bad discriminant {t}"),
    }
}
pub unsafe fn read_result(s: Handle) -> Option<Handle> {
    let mut r = RetArea::new();
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_result(
        s,
        r.ptr(),
    );
    match r.tag() {
        0 => None,
        1 => Some(r.handle(1)),
        t => panic!("bad discriminant {t}"),
    }
}
/// The list, freed as the generated code frees it.
pub unsafe fn close_read(s: Handle) -> Vec<Handle> {
    let mut r = RetArea::new();
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclose_read(
        s,
        r.ptr(),
    );
    let base = r.handle(0).cast::<Handle>();
    let len = r.word(1);
    let v = (0..len).map(|i| *base.add(i)).collect();
    if len > 0 {
        std::alloc::dealloc(
            base.cast(),
            std::alloc::Layout::from_size_align(len * 8, 8).unwrap(),
        );
    }
    v
}
/// `Ok(buffer)` or `Err(stream-state)`.
pub unsafe fn start_writing(s: Handle) -> Result<Handle, u8> {
    let mut r = RetArea::new();
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_writing(
        s,
        r.ptr(),
    );
    match r.tag() {
        0 => Ok(r.handle(1)),
        1 => Err(r.0[8]),
        t => panic!("bad discriminant {t}"),
    }
}
pub unsafe fn finish_writing(s: Handle, b: Option<Handle>) {
    match b {
        Some(b) => symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Efinish_writing(s, 1, b),
        None => symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Efinish_writing(s, 0, core::ptr::null_mut()),
    }
}
pub unsafe fn read_ready_subscribe(s: Handle) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_ready_subscribe(s)
}
pub unsafe fn write_ready_subscribe(s: Handle) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Ewrite_ready_subscribe(s)
}
pub unsafe fn sub_ready(s: Handle) -> bool {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Eready(s)
        != 0
}
pub unsafe fn sub_drop(s: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_subscription(s)
}
pub unsafe fn sub_reset(s: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Ereset(s)
}
pub unsafe fn sub_dup(s: Handle) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Edup(s)
}
pub unsafe fn from_timeout(ns: u64) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Devent_subscriptionX2Efrom_timeout(ns as i64)
}
pub unsafe fn generator_new() -> Handle {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BconstructorX5Devent_generator()
}
pub unsafe fn generator_subscribe(g: Handle) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Esubscribe(
        g,
    )
}
pub unsafe fn generator_activate(g: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Eactivate(g)
}
pub unsafe fn generator_drop(g: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_generator(g)
}
pub type Callback = unsafe extern "C" fn(*mut u8) -> u8;
pub unsafe fn register(sub: Handle, f: Callback, data: *mut u8) -> Handle {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00register(sub, f as *mut u8, data)
}
pub unsafe fn registration_drop(r: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_registration(
        r,
    )
}
pub unsafe fn cancel(r: Handle) -> *mut u8 {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Dcallback_registrationX2Ecancel(r)
}
pub unsafe fn run() {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00run()
}
pub unsafe fn block_on(sub: Handle) {
    symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00block_on(sub)
}

// ---- callback tasks: a writer of u64 and a reader that sums them ----------------------

/// A writer task: writes `0..total` in chunks of at most `chunk`, then ends the stream.
pub struct WriterTask {
    pub stream: Handle,
    pub next: u64,
    pub total: u64,
    pub chunk: u64,
    pub done: bool,
    pub saw_eof: bool,
}

/// Runs on write-ready: writes while buffers are lent; `pending` to wait for the next.
pub unsafe extern "C" fn writer_cb(data: *mut u8) -> u8 {
    let w = &mut *data.cast::<WriterTask>();
    loop {
        if w.next == w.total {
            finish_writing(w.stream, None);
            w.done = true;
            return READY;
        }
        match start_writing(w.stream) {
            Ok(b) => {
                let cap = buffer_capacity(b).min(w.chunk);
                let n = cap.min(w.total - w.next);
                let p = buffer_addr(b).cast::<u64>();
                for i in 0..n {
                    p.add(i as usize).write(w.next + i);
                }
                w.next += n;
                buffer_set_size(b, n);
                finish_writing(w.stream, Some(b));
            }
            Err(WOULD_BLOCK) => return PENDING,
            Err(_) => {
                w.saw_eof = true;
                w.done = true;
                return READY;
            }
        }
    }
}

/// A reader task: lends `mem`, sums what arrives, ends at end of stream.
pub struct ReaderTask {
    pub stream: Handle,
    pub mem: Vec<u64>,
    pub buffer: Handle,
    pub count: u64,
    pub sum: u64,
    pub in_order: bool,
    pub done: bool,
}

impl ReaderTask {
    /// A reader of `cap`-element buffers; its first read is started.
    pub unsafe fn start(stream: Handle, cap: usize) -> Box<Self> {
        let mut t = Box::new(ReaderTask {
            stream,
            mem: vec![0; cap],
            buffer: core::ptr::null_mut(),
            count: 0,
            sum: 0,
            in_order: true,
            done: false,
        });
        let b = buffer_new(t.mem.as_mut_ptr().cast(), cap as u64);
        start_reading(stream, b).expect("first read starts");
        t
    }
}

/// Runs on read-ready.
pub unsafe extern "C" fn reader_cb(data: *mut u8) -> u8 {
    let r = &mut *data.cast::<ReaderTask>();
    loop {
        match read_result(r.stream) {
            Some(b) => {
                let n = buffer_size(b) as usize;
                let p = buffer_addr(b).cast::<u64>();
                for i in 0..n {
                    let v = *p.add(i);
                    r.in_order &= v == r.count;
                    r.count += 1;
                    r.sum = r.sum.wrapping_add(v);
                }
                if let Err(b) = start_reading(r.stream, b) {
                    // End of stream: the buffer comes back.
                    buffer_drop(b);
                }
            }
            None if is_write_closed(r.stream) || is_read_closed(r.stream) => {
                r.done = true;
                return READY;
            }
            None => return PENDING,
        }
    }
}

pub fn sum_to(n: u64) -> u64 {
    (0..n).fold(0u64, |a, v| a.wrapping_add(v))
}
