//! The C exports of `symmetric-executor`, under the names wit-bindgen's symmetric code generator
//! gives them; each is a thin wrapper over the parent module's objects.

use super::*;

/// `[resource-drop]callback-function`: a callback function is a plain function pointer;
/// nothing to free.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_function(
    _handle: *mut u8,
) {
}

/// `[resource-drop]callback-data`: the data belongs to its callback, which frees it when it
/// returns `ready`; nothing to free here.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_data(
    _handle: *mut u8,
) {
}

/// `[resource-drop]event-subscription`.
///
/// # Safety
///
/// `handle` is a subscription handle of this library (or null), not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_subscription(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's handle, boxed by `into_handle`.
        drop(unsafe { Box::from_raw(handle.cast::<Subscription>()) });
    });
}

/// `[resource-drop]event-generator`.
///
/// # Safety
///
/// `handle` is a generator handle of this library (or null), not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_generator(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's handle, from `Arc::into_raw` in the constructor.
        drop(unsafe { Arc::from_raw(handle.cast::<Generator>().cast_const()) });
    });
}

/// `[resource-drop]callback-registration`: frees the handle; the callback stays registered.
///
/// # Safety
///
/// `handle` is a registration handle of this library (or null), not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_registration(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's handle, boxed by `register`.
        drop(unsafe { Box::from_raw(handle.cast::<RegHandle>()) });
    });
}

/// `[method]event-subscription.ready`: 1 if the subscription is active.
///
/// # Safety
///
/// `handle` is a live subscription handle of this library.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Eready(
    handle: *mut u8,
) -> i32 {
    if handle.is_null() {
        return 0;
    }
    guard(0, || {
        // SAFETY: the caller's live handle.
        let o = unsafe { &*handle.cast::<Subscription>() };
        i32::from(o.ready())
    })
}

/// `[static]event-subscription.from-timeout`: a subscription that becomes ready
/// `nanoseconds` from now (a `u64`, passed as `i64`).
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Devent_subscriptionX2Efrom_timeout(
    nanoseconds: i64,
) -> *mut u8 {
    guard(ptr::null_mut(), || {
        let deadline = Instant::now().checked_add(Duration::from_nanos(nanoseconds as u64));
        Subscription::Timeout(deadline).into_handle()
    })
}

/// `[method]event-subscription.dup`: a second subscription to the same event, in the same
/// state.
///
/// # Safety
///
/// `handle` is a live subscription handle of this library.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Edup(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's live handle.
        unsafe { &*handle.cast::<Subscription>() }
            .dup()
            .into_handle()
    })
}

/// `[method]event-subscription.reset`: a generator subscription is inactive until the next
/// activation; other subscriptions are unchanged (their readiness is a state).
///
/// # Safety
///
/// `handle` is a live subscription handle of this library.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Ereset(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    // SAFETY: the caller's live handle.
    guard((), || unsafe { &*handle.cast::<Subscription>() }.reset());
}

/// `[constructor]event-generator`.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BconstructorX5Devent_generator(
) -> *mut u8 {
    guard(ptr::null_mut(), || {
        Arc::into_raw(Arc::new(Generator::default()))
            .cast_mut()
            .cast()
    })
}

/// `[method]event-generator.subscribe`: a subscription that is ready once the generator has
/// been activated (at all, for a fresh one; after its last reset, once reset).
///
/// # Safety
///
/// `handle` is a live generator handle of this library.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Esubscribe(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        let generator = handle.cast::<Generator>().cast_const();
        // SAFETY: the caller's live handle holds one count of the `Arc`.
        let generator = unsafe {
            Arc::increment_strong_count(generator);
            Arc::from_raw(generator)
        };
        Subscription::Generator {
            generator,
            seen: AtomicU64::new(0),
        }
        .into_handle()
    })
}

/// `[method]event-generator.activate`: wakes every subscriber.
///
/// # Safety
///
/// `handle` is a live generator handle of this library.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Eactivate(
    handle: *mut u8,
) {
    if handle.is_null() {
        return;
    }
    // SAFETY: the caller's live handle.
    guard((), || unsafe { &*handle.cast::<Generator>() }.activate());
}

/// `[static]callback-registration.cancel`: unregisters the callback and returns its data
/// (the caller's again). Null if the callback already returned `ready` (its data is gone),
/// or if called on another thread than the one that registered it.
///
/// # Safety
///
/// `handle` is a registration handle of this library, taken over.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Dcallback_registrationX2Ecancel(
    handle: *mut u8,
) -> *mut u8 {
    if handle.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's handle, boxed by `register`, taken over.
        let reg = unsafe { Box::from_raw(handle.cast::<RegHandle>()) };
        with_exec(|ex| {
            if !ptr::eq(Arc::as_ptr(&ex.shared), reg.exec) {
                return ptr::null_mut();
            }
            let Some((generation, slot)) = ex.slots.get_mut(reg.id) else {
                return ptr::null_mut();
            };
            if *generation != reg.generation {
                return ptr::null_mut();
            }
            match slot {
                Slot::Live(task) => {
                    let data = match task.action {
                        Action::Callback(_, data) => data,
                        Action::BlockOn(_) => ptr::null_mut(),
                    };
                    ex.release(reg.id);
                    data
                }
                // Cancelled from its own callback (or a poll in progress): it is not run
                // again; the data goes back to the caller.
                Slot::Running { cancelled } => {
                    *cancelled = true;
                    ptr::null_mut()
                }
                Slot::Free => ptr::null_mut(),
            }
        })
    })
}

/// `run`: runs this thread's registered callbacks until every one has returned `ready`.
#[no_mangle]
pub extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00run() {
    guard((), || run_until(None));
}

/// `register`: registers `callback(data)` to run on this thread's executor when `trigger`
/// is ready (taken over). Returns the registration handle.
///
/// # Safety
///
/// `trigger` is a subscription handle of this library (taken over); `callback` is a
/// [`CallbackFn`]; `data` is what it expects.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00register(
    trigger: *mut u8,
    callback: *mut u8,
    data: *mut u8,
) -> *mut u8 {
    if trigger.is_null() || callback.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: the caller's contract: a callback function pointer.
        let f = unsafe { core::mem::transmute::<*mut u8, CallbackFn>(callback) };
        // SAFETY: the caller's subscription handle, taken over.
        let sub = unsafe { Box::from_raw(trigger.cast::<Subscription>()) };
        with_exec(|ex| {
            let (id, generation) = ex.insert(sub, Action::Callback(f, data));
            Box::into_raw(Box::new(RegHandle {
                id,
                generation,
                exec: Arc::as_ptr(&ex.shared),
            }))
            .cast()
        })
    })
}

/// `block-on`: runs this thread's callbacks until `trigger` (taken over) is ready.
///
/// # Safety
///
/// `trigger` is a subscription handle of this library, taken over.
#[no_mangle]
pub unsafe extern "C" fn symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00block_on(
    trigger: *mut u8,
) {
    if trigger.is_null() {
        return;
    }
    guard((), || {
        // SAFETY: the caller's subscription handle, taken over.
        let sub = unsafe { Box::from_raw(trigger.cast::<Subscription>()) };
        if sub.ready() {
            return;
        }
        let flag = Rc::new(Cell::new(false));
        with_exec(|ex| ex.insert(sub, Action::BlockOn(Rc::clone(&flag))));
        run_until(Some(&flag));
    });
}
