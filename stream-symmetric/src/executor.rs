//! `symmetric:runtime/symmetric-executor@0.3.0`: event generators and subscriptions on
//! native-stream's events, and a small executor of our own.
//!
//! # The executor
//!
//! Each thread has its own executor (a thread-local): `register` adds a task to the calling
//! thread's executor, and `run` or `block-on` on that thread runs its tasks. A task is a
//! subscription, a callback and its data. The executor keeps a ready queue of task ids:
//! a task is polled when it is registered, and afterwards only when its subscription's
//! event wakes it. The poll uses the event's async wait ([`Event::poll_until`]) with a
//! [`Waker`] that pushes the task's id onto the queue (from any thread) and activates the
//! executor's own event; with nothing queued, the executor blocks on that event (our futex
//! wait), until the nearest timeout at most. No thread is started, none per callback.
//!
//! A callback that returns `pending` is polled again at once: if its subscription is still
//! ready it runs again (for a generator subscription, "ready" means activated since the
//! callback was last called), otherwise it waits for the next activation.

use core::cell::{Cell, RefCell};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::time::{Duration, Instant};

use stream_events::{Event, Futex, FutexRegistration};

use crate::guard;
use crate::stream::StreamObj;

/// A callback as the generated code passes it to `register` (the `callback-function`
/// handle): called with the `callback-data` handle, returns `callback-state` (0 `pending`:
/// call again, 1 `ready`: done, the data is freed).
///
/// The return value is read as one byte, so a C function returning `uint8_t`, an `enum` or
/// an `int` all work.
pub type CallbackFn = unsafe extern "C" fn(data: *mut u8) -> u8;

/// `callback-state.ready`.
const CALLBACK_READY: u8 = 1;

/// An `event-generator`: a counter of activations and the event its waiters wait on.
#[derive(Debug, Default)]
pub(crate) struct Generator {
    counter: AtomicU64,
    event: Event<Futex>,
}

impl Generator {
    fn activate(&self) {
        // ORDERING: SeqCst, so that the activation below may skip its write when nobody is
        // parked (`activate_after_seqcst`); the waiters' condition reads this word.
        self.counter.fetch_add(1, Ordering::SeqCst);
        self.event.activate_after_seqcst();
    }

    fn count(&self) -> u64 {
        // ORDERING: Acquire: what the activator did before activating is visible to the
        // callback that runs because of it.
        self.counter.load(Ordering::Acquire)
    }
}

/// An `event-subscription`: what a task waits for.
#[derive(Debug)]
pub(crate) enum Subscription {
    /// Ready while the generator's counter differs from `seen` (activated since the
    /// subscription was made from a fresh counter, or since its last reset). Activations
    /// coalesce, as an event's do: one callback consumes all those before its reset.
    Generator {
        generator: Arc<Generator>,
        seen: AtomicU64,
    },
    /// Ready from the deadline on (`None`: never).
    Timeout(Option<Instant>),
    /// Ready while a read result is waiting or an end is closed (the stream's state).
    StreamRead(Arc<StreamObj>),
    /// Ready while a buffer is lent and not taken, or an end is closed.
    StreamWrite(Arc<StreamObj>),
}

impl Subscription {
    pub(crate) fn ready(&self) -> bool {
        match self {
            Subscription::Generator { generator, seen } => {
                // ORDERING: Relaxed: `seen` is this subscription's own snapshot.
                generator.count() != seen.load(Ordering::Relaxed)
            }
            Subscription::Timeout(deadline) => deadline.is_some_and(|d| Instant::now() >= d),
            Subscription::StreamRead(obj) => obj.read_ready(),
            Subscription::StreamWrite(obj) => obj.write_ready(),
        }
    }

    /// `reset`: a generator subscription becomes inactive until the next activation.
    /// Timeouts and stream subscriptions reflect a state that a reset cannot change, so a
    /// reset leaves them as they are (in particular, it never hides an activation that
    /// already happened: a stream subscription cannot miss one).
    fn reset(&self) {
        if let Subscription::Generator { generator, seen } = self {
            // ORDERING: Relaxed: the snapshot is this subscription's own.
            seen.store(generator.count(), Ordering::Relaxed);
        }
    }

    fn dup(&self) -> Subscription {
        match self {
            Subscription::Generator { generator, seen } => Subscription::Generator {
                generator: Arc::clone(generator),
                // ORDERING: Relaxed, as in `reset`.
                seen: AtomicU64::new(seen.load(Ordering::Relaxed)),
            },
            Subscription::Timeout(d) => Subscription::Timeout(*d),
            Subscription::StreamRead(obj) => Subscription::StreamRead(Arc::clone(obj)),
            Subscription::StreamWrite(obj) => Subscription::StreamWrite(Arc::clone(obj)),
        }
    }

    /// `Ready` if ready; otherwise arranges for `cx`'s waker to be woken by the next
    /// activation of the underlying event (not for timeouts: the executor keeps those).
    fn poll(&self, reg: &mut FutexRegistration, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Subscription::Generator { generator, seen } => {
                // ORDERING: Relaxed, as in `ready`.
                let seen = seen.load(Ordering::Relaxed);
                generator
                    .event
                    .poll_until(reg, || generator.count() != seen, cx)
            }
            Subscription::Timeout(_) => {
                if self.ready() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
            Subscription::StreamRead(obj) => {
                obj.raw()
                    .read_ready_event()
                    .poll_until(reg, || obj.read_ready(), cx)
            }
            Subscription::StreamWrite(obj) => {
                obj.raw()
                    .write_ready_event()
                    .poll_until(reg, || obj.write_ready(), cx)
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Subscription::Timeout(d) => *d,
            _ => None,
        }
    }

    /// Boxes the subscription into a handle.
    pub(crate) fn into_handle(self) -> *mut u8 {
        Box::into_raw(Box::new(self)).cast()
    }
}

/// What wakers share with their executor: the ready queue and the event it sleeps on.
#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Vec<usize>>,
    /// Bumped after every push; the executor sleeps until it changes.
    seq: AtomicU32,
    event: Event<Futex>,
}

impl Shared {
    fn push(&self, id: usize) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        // ORDERING: SeqCst: the executor's condition reads this word
        // (`activate_after_seqcst`); the queue's mutex carries the id itself.
        self.seq.fetch_add(1, Ordering::SeqCst);
        self.event.activate_after_seqcst();
    }

    fn take(&self, into: &mut Vec<usize>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        into.append(&mut q);
    }
}

/// The waker of one task: queues its id once until it is polled again.
#[derive(Debug)]
struct TaskWaker {
    id: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // ORDERING: AcqRel: one push per poll; the executor clears the flag before it polls.
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.shared.push(self.id);
        }
    }
}

/// What a task does when its subscription is ready.
#[derive(Debug)]
enum Action {
    /// A registered callback and its data.
    Callback(CallbackFn, *mut u8),
    /// A `block-on`: sets the flag its loop waits for.
    BlockOn(Rc<Cell<bool>>),
}

/// A task. `reg` is declared before `sub` so that it unregisters from the event before the
/// subscription (which keeps the event alive) is dropped.
#[derive(Debug)]
struct Task {
    reg: FutexRegistration,
    sub: Box<Subscription>,
    action: Action,
    waker: Waker,
    task_waker: Arc<TaskWaker>,
    timer_armed: bool,
}

#[derive(Debug)]
enum Slot {
    Free,
    /// Taken out while it is polled or its callback runs.
    Running {
        cancelled: bool,
    },
    Live(Box<Task>),
}

/// One thread's executor.
#[derive(Debug)]
struct Exec {
    slots: Vec<(u64, Slot)>,
    free: Vec<usize>,
    /// Tasks registered and not finished (live or running).
    tasks: usize,
    /// Ids to poll, queued on this thread.
    local: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    shared: Arc<Shared>,
}

thread_local! {
    static EXEC: RefCell<Exec> = RefCell::new(Exec {
        slots: Vec::new(),
        free: Vec::new(),
        tasks: 0,
        local: Vec::new(),
        timers: BinaryHeap::new(),
        shared: Arc::default(),
    });
}

/// A `callback-registration` handle.
#[derive(Debug)]
struct RegHandle {
    id: usize,
    generation: u64,
    /// The executor's identity: its shared part's address.
    exec: *const Shared,
}

impl Exec {
    fn insert(&mut self, sub: Box<Subscription>, action: Action) -> (usize, u64) {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push((0, Slot::Free));
                self.slots.len() - 1
            }
        };
        let task_waker = Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(true),
            shared: Arc::clone(&self.shared),
        });
        let slot = &mut self.slots[id];
        slot.0 += 1;
        slot.1 = Slot::Live(Box::new(Task {
            reg: FutexRegistration::default(),
            sub,
            action,
            waker: Waker::from(Arc::clone(&task_waker)),
            task_waker,
            timer_armed: false,
        }));
        self.tasks += 1;
        self.local.push(id);
        (id, slot.0)
    }

    fn release(&mut self, id: usize) {
        self.slots[id].1 = Slot::Free;
        self.free.push(id);
        self.tasks -= 1;
    }

    /// Takes a live task out for polling (its slot becomes `Running`).
    fn take(&mut self, id: usize) -> Option<Box<Task>> {
        let slot = self.slots.get_mut(id)?;
        if !matches!(slot.1, Slot::Live(_)) {
            return None;
        }
        match core::mem::replace(&mut slot.1, Slot::Running { cancelled: false }) {
            Slot::Live(task) => Some(task),
            _ => unreachable!(),
        }
    }

    /// Puts a polled task back, unless it was cancelled meanwhile.
    fn put_back(&mut self, id: usize, task: Box<Task>) {
        match self.slots[id].1 {
            Slot::Running { cancelled: true } => {
                drop(task);
                self.release(id);
            }
            _ => self.slots[id].1 = Slot::Live(task),
        }
    }
}

fn with_exec<R>(f: impl FnOnce(&mut Exec) -> R) -> R {
    EXEC.with(|e| f(&mut e.borrow_mut()))
}

/// Polls task `id`: runs its callback if its subscription is ready.
fn poll_task(id: usize) {
    let Some(mut task) = with_exec(|ex| ex.take(id)) else {
        return;
    };
    // ORDERING: Release/AcqRel pair with the waker's swap: a wake after this re-queues.
    task.task_waker.queued.store(false, Ordering::Release);
    let waker = task.waker.clone();
    let mut cx = Context::from_waker(&waker);
    let ready = task.sub.poll(&mut task.reg, &mut cx).is_ready();
    if !ready {
        with_exec(|ex| {
            if let (Some(deadline), false) = (task.sub.deadline(), task.timer_armed) {
                task.timer_armed = true;
                let generation = ex.slots[id].0;
                ex.timers.push(Reverse((deadline, id, generation)));
            }
            ex.put_back(id, task);
        });
        return;
    }
    match task.action {
        Action::BlockOn(ref flag) => {
            flag.set(true);
            drop(task);
            with_exec(|ex| ex.release(id));
        }
        Action::Callback(f, data) => {
            // The callback consumes this activation: a generator subscription is ready again
            // only after a later one (activations during the callback count).
            task.sub.reset();
            // SAFETY: the generated code's contract: `f` is a callback function that takes
            // this data handle. No executor borrow is held: it may register, cancel, run.
            let state = unsafe { f(data) };
            with_exec(|ex| {
                if state == CALLBACK_READY {
                    drop(task);
                    ex.release(id);
                } else {
                    ex.put_back(id, task);
                    ex.local.push(id);
                }
            });
        }
    }
}

/// Runs this thread's tasks until none is left, or until `stop` is set.
fn run_until(stop: Option<&Cell<bool>>) {
    let mut batch = Vec::new();
    loop {
        if stop.is_some_and(Cell::get) {
            return;
        }
        let (shared, seen, deadline) = {
            let done = with_exec(|ex| {
                if stop.is_none() && ex.tasks == 0 {
                    return None;
                }
                // ORDERING: SeqCst: read before the queue is drained, so a push after the
                // drain changes it and the wait below does not sleep through it.
                let seen = ex.shared.seq.load(Ordering::SeqCst);
                batch.append(&mut ex.local);
                ex.shared.take(&mut batch);
                let now = Instant::now();
                let mut next = None;
                while let Some(Reverse((when, id, generation))) = ex.timers.peek().copied() {
                    if when > now {
                        next = Some(when);
                        break;
                    }
                    ex.timers.pop();
                    if let Some((g, Slot::Live(task))) = ex.slots.get_mut(id) {
                        if *g == generation {
                            task.timer_armed = false;
                            batch.push(id);
                        }
                    }
                }
                Some((Arc::clone(&ex.shared), seen, next))
            });
            match done {
                None => return,
                Some(x) => x,
            }
        };
        if batch.is_empty() {
            // ORDERING: SeqCst pairs with the pushers' increment.
            let changed = || shared.seq.load(Ordering::SeqCst) != seen;
            match deadline {
                Some(d) => {
                    shared.event.wait_until_deadline(changed, d);
                }
                None => shared.event.wait_until(changed),
            }
            continue;
        }
        let mut i = 0;
        while i < batch.len() {
            poll_task(batch[i]);
            i += 1;
            if stop.is_some_and(Cell::get) {
                // The rest are polled by a later loop (they are ready or spurious).
                with_exec(|ex| ex.local.extend_from_slice(&batch[i..]));
                return;
            }
        }
        batch.clear();
    }
}

mod exports;
pub use exports::*;
