//! The C exports of `symmetric-stream`, under the names wit-bindgen's symmetric code generator
//! gives them; each is a thin wrapper over the parent module's objects.

use super::*;

/// `[resource-drop]address`: an address is the caller's memory; nothing to free.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Daddress(
    _handle: *mut u8,
) {
}

/// `[resource-drop]buffer`: frees the buffer object (not the memory it points to).
///
/// # Safety
///
/// `handle` is a buffer handle the caller owns (or null), not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dbuffer(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's handle, boxed by this library.
        let b = unsafe { Box::from_raw(handle.cast::<BufferObj>()) };
        drop(b);
    });
}

/// `[resource-drop]stream-obj`: gives up one handle. The last handle ends what is in
/// progress (returns a taken buffer, cancels a pending read) and gives up the stream's ends,
/// which closes them.
///
/// # Safety
///
/// `handle` is a stream-obj handle (or null), not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dstream_obj(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's handle, from `Arc::into_raw`.
        let o = unsafe { Arc::from_raw(handle.cast::<StreamObj>().cast_const()) };
        drop(o);
    });
}

/// `[constructor]buffer(addr, capacity)`: `capacity` elements at `addr`.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dbuffer(
    addr: *mut u8,
    capacity: i64,
) -> *mut u8 {
    guard(ptr::null_mut(), || {
        BufferObj {
            addr,
            capacity: capacity as u64,
            size: AtomicU64::new(0),
            foreign: false,
        }
        .into_handle()
        .cast()
    })
}

/// `[method]buffer.get-address`: the memory's address (an `address` handle).
///
/// # Safety
///
/// `handle` is a live buffer handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_address(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: the caller's live handle.
    unsafe { &*handle.cast::<BufferObj>() }.addr
}

/// `[method]buffer.get-size`: the number of valid elements.
///
/// # Safety
///
/// `handle` is a live buffer handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_size(
    handle: *mut u8,
) -> i64 {
    if handle.is_null() {
        return 0;
    }
    // SAFETY: the caller's live handle.
    unsafe { &*handle.cast::<BufferObj>() }.size() as i64
}

/// `[method]buffer.set-size`: sets the number of valid elements (a writer's count).
///
/// # Safety
///
/// `handle` is a live buffer handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eset_size(
    handle: *mut u8,
    size: i64,
) {
    if handle.is_null() {
        return;
    }
    // SAFETY: the caller's live handle.
    unsafe { &*handle.cast::<BufferObj>() }.set_size(size as u64);
}

/// `[method]buffer.capacity`: the number of elements the memory holds.
///
/// # Safety
///
/// `handle` is a live buffer handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Ecapacity(
    handle: *mut u8,
) -> i64 {
    if handle.is_null() {
        return 0;
    }
    // SAFETY: the caller's live handle.
    unsafe { &*handle.cast::<BufferObj>() }.capacity as i64
}

/// `[constructor]stream-obj`: a new stream; the handle acts for both ends.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dstream_obj(
) -> *mut u8 {
    guard(ptr::null_mut(), || {
        Arc::into_raw(Arc::new(StreamObj::new())).cast_mut().cast()
    })
}

/// `[method]stream-obj.clone`: another handle to the same stream (for the other end, or a
/// task).
///
/// # Safety
///
/// `handle` is a live stream-obj handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclone(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj_arc(handle) };
        Arc::into_raw(o).cast_mut().cast()
    })
}

/// `[method]stream-obj.is-write-closed`: 1 once the writer ended the stream (sticky).
///
/// # Safety
///
/// `handle` is a live stream-obj handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_write_closed(
    handle: *mut u8,
) -> i32 {
    if handle.is_null() {
        return 1;
    }
    guard(1, || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj(handle) };
        i32::from(o.raw().is_write_closed())
    })
}

/// `[method]stream-obj.start-reading(buffer) -> result<_, buffer>`: lends the buffer;
/// `err` gives it back untouched when a read is already pending, at end of stream, or on a
/// closed reader end.
///
/// # Safety
///
/// `handle` is a live stream-obj handle; `buffer` a buffer handle (taken over); `ret` a
/// return area of two pointer-sized words.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_reading(
    handle: *mut u8,
    buffer: *mut u8,
    ret: *mut u8,
) {
    let r = if handle.is_null() || buffer.is_null() {
        Err(buffer.cast())
    } else {
        // SAFETY: the caller's live handles.
        guard(Err(buffer.cast()), || unsafe {
            obj(handle).start_reading(buffer.cast())
        })
    };
    // SAFETY: the caller's return area.
    unsafe {
        match r {
            Ok(()) => write_ret(ret, 0, ptr::null_mut()),
            Err(b) => write_ret(ret, 1, b.cast()),
        }
    }
}

/// `[method]stream-obj.read-ready-subscribe`: a subscription that is ready while a read
/// result waits or an end is closed.
///
/// # Safety
///
/// `handle` is a live stream-obj handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_ready_subscribe(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj_arc(handle) };
        Subscription::StreamRead(o).into_handle()
    })
}

/// `[method]stream-obj.close-read -> list<buffer>`: closes the reader end; the pending
/// buffer, if any, comes back in the list (its size: the elements delivered into it).
///
/// # Safety
///
/// `handle` is a live stream-obj handle; `ret` a return area of two pointer-sized words.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclose_read(
    handle: *mut u8,
    ret: *mut u8,
) {
    let b = if handle.is_null() {
        None
    } else {
        // SAFETY: the caller's live handle.
        guard(None, || unsafe { obj(handle) }.close_read())
    };
    let (list, len) = match b {
        None => (ptr::null_mut(), 0usize),
        Some(b) => {
            // Allocated as generated Rust code frees it (`cabi_dealloc`: the global allocator's
            // `dealloc` with the list's layout); generated C++ frees it with `free`, the same
            // under Rust's default (`System`) allocator.
            // SAFETY: a layout of one pointer, not zero-sized.
            let list = unsafe { std::alloc::alloc(std::alloc::Layout::new::<*mut u8>()) }
                .cast::<*mut u8>();
            if list.is_null() {
                // Out of memory: the buffer object cannot be handed back; free it.
                // SAFETY: ours, nobody else refers to it.
                drop(unsafe { Box::from_raw(b) });
                (ptr::null_mut(), 0)
            } else {
                // SAFETY: room for one pointer.
                unsafe { list.write(b.cast()) };
                (list, 1)
            }
        }
    };
    // SAFETY: the caller's return area: the list's pointer, then its length.
    unsafe {
        ret.cast::<*mut u8>().write(list.cast());
        ret.add(core::mem::size_of::<*const u8>())
            .cast::<usize>()
            .write(len);
    }
}

/// `[method]stream-obj.read-result -> option<buffer>`: the buffer with its count once the
/// writer committed; `none` while the read is still pending ("no data when polled"), when no
/// read is pending, and at end of stream ("none is EOF when read-ready").
///
/// # Safety
///
/// `handle` is a live stream-obj handle; `ret` a return area of two pointer-sized words.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_result(
    handle: *mut u8,
    ret: *mut u8,
) {
    let b = if handle.is_null() {
        None
    } else {
        // SAFETY: the caller's live handle.
        guard(None, || unsafe { obj(handle) }.read_result())
    };
    // SAFETY: the caller's return area.
    unsafe {
        match b {
            None => write_ret(ret, 0, ptr::null_mut()),
            Some(b) => write_ret(ret, 1, b.cast()),
        }
    }
}

/// `[method]stream-obj.is-read-closed`: 1 once the reader end is closed (sticky).
///
/// # Safety
///
/// `handle` is a live stream-obj handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_read_closed(
    handle: *mut u8,
) -> i32 {
    if handle.is_null() {
        return 1;
    }
    guard(1, || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj(handle) };
        i32::from(o.raw().is_read_closed())
    })
}

/// `[method]stream-obj.start-writing -> result<buffer, stream-state>`: the reader's lent
/// buffer (capacity: its room; write elements to its address, `set-size`, then
/// `finish-writing`); `err(pending)` when no buffer is lent (wait for write-ready) or another
/// write is in progress; `err(eof)` when either end is closed.
///
/// # Safety
///
/// `handle` is a live stream-obj handle; `ret` a return area of two pointer-sized words.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_writing(
    handle: *mut u8,
    ret: *mut u8,
) {
    let r = if handle.is_null() {
        Err(STATE_EOF)
    } else {
        // SAFETY: the caller's live handle.
        guard(Err(STATE_EOF), || unsafe { obj(handle) }.start_writing())
    };
    // SAFETY: the caller's return area.
    unsafe {
        match r {
            Ok(b) => write_ret(ret, 0, b.cast()),
            Err(state) => {
                ret.write(1);
                ret.add(core::mem::size_of::<*const u8>()).write(state);
            }
        }
    }
}

/// `[method]stream-obj.write-ready-subscribe`: a subscription that is ready while a buffer
/// is lent and not taken, or an end is closed.
///
/// # Safety
///
/// `handle` is a live stream-obj handle.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Ewrite_ready_subscribe(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj_arc(handle) };
        Subscription::StreamWrite(o).into_handle()
    })
}

/// `[method]stream-obj.finish-writing(option<buffer>)`: `some(buffer)` commits the
/// buffer's size (clamped to its capacity; 0 returns the buffer, the read stays pending);
/// `none` ends the stream (returning a buffer still held first).
///
/// # Safety
///
/// `handle` is a live stream-obj handle; with `is_some` 1, `buffer` is the handle
/// `start-writing` returned (taken over).
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Efinish_writing(
    handle: *mut u8,
    is_some: i32,
    buffer: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's live handle.
        let o = unsafe { obj(handle) };
        if is_some == 0 {
            o.close_write();
        } else {
            o.finish_writing(buffer.cast());
        }
    });
}
