//! The engine pool: a few worker threads that run every realtime engine of the process.
//!
//! A host may load dozens of instances. With a thread each, every idle engine woke 2,000 times
//! a second to look for requests ([`IDLE_POLL`]), and on two cores about 30 instances were the
//! limit, not for their rendering but for those wake-ups preempting the host's audio thread.
//! The pool's workers, at most one per core and never more than engines, pass over all the
//! registered engines in turn, service each one no other worker is servicing
//! ([`EngineLoop::service`], which never waits), and sleep only when a whole pass found nothing
//! to do: wake-ups no longer grow with the number of instances. One worker at a time services
//! an engine, which answers its requests in order, so its frames are the same as on a thread of
//! its own.
//!
//! Workers are named `auralis-engine` like the dedicated engine threads, flush denormals, and
//! build an engine's core on its first service, so GPU set-up never runs on the host's threads.
//! An engine that unregisters while there are more workers than engines left joins one of
//! them, and the last engine joins them all: with no instance active no thread of ours is
//! left, even parked, in a library the host may unload. The audio thread
//! never touches the pool; it reaches its engine through the rings only.
//!
//! A worker rendering a slow block (a GPU timeout, a fresh core after a panic) delays the
//! engines after it in its pass unless another worker gets to them first; the lead absorbs a
//! short delay, and the pool does not try to do better.

use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;

use crate::realtime::denormals::DenormalGuard;

use super::thread::{EngineLoop, EngineStart, IDLE_POLL, Step, panic_message};

/// The pool of the process, shared by every plugin instance in it.
static POOL: Pool = Pool {
    registry: Mutex::new(Registry {
        engines: Vec::new(),
        workers: Vec::new(),
        epoch: 0,
    }),
    generation: AtomicU64::new(0),
};

/// Source of [`Slot::id`]s.
#[cfg(test)]
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

struct Pool {
    /// The engines and workers. Locked to register and unregister, and by a worker copying the
    /// list of engines after a change; never while an engine is serviced.
    registry: Mutex<Registry>,
    /// Counts changes to the registry (changed with it locked), so a worker copies the list
    /// only after one.
    generation: AtomicU64,
}

struct Registry {
    /// The registered engines, in the order the workers pass over them.
    engines: Vec<Arc<Slot>>,
    /// The running workers: never more than engines, all joined when the last engine
    /// unregisters.
    workers: Vec<Worker>,
    /// Counts the times the last engine unregistered: a worker started before the latest of
    /// them exits, even if new engines have registered since.
    epoch: u64,
}

/// A running worker.
struct Worker {
    thread: JoinHandle<()>,
    /// Tells it to end after its current pass, when there are more workers than engines.
    retire: Arc<AtomicBool>,
}

impl Worker {
    /// Wakes the worker if it sleeps.
    fn wake(&self) {
        self.thread.thread().unpark();
    }

    /// Tells the worker to end, wakes it and waits for it. Call without the registry locked.
    fn join(self) {
        self.retire.store(true, Ordering::Release);
        self.wake();
        if self.thread.join().is_err() {
            nice_plug::nice_error!("an engine worker panicked");
        }
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One registered engine.
struct Slot {
    /// Tells registrations apart, for tests that ask whether one is still registered.
    #[cfg(test)]
    id: u64,
    /// Held by the worker servicing the engine (other workers skip it) and by unregistering,
    /// which waits for that worker. Workers may keep a slot a little after it unregistered,
    /// but by then the engine has left it.
    engine: Mutex<Pooled>,
}

/// An engine as the pool holds it.
enum Pooled {
    /// Registered, not serviced yet: built by the first worker to service it.
    Unbuilt(Box<EngineStart>),
    /// Running.
    Built(Box<EngineLoop>),
    /// Stopped, with its core dropped.
    Retired,
}

impl Pooled {
    /// Builds the engine if it is new, then services it. A panic the engine's own recovery did
    /// not catch (building a core, building a fresh one after a panic) retires the engine
    /// instead of ending the worker, which serves others.
    fn service(&mut self) -> Step {
        if matches!(self, Self::Unbuilt(_))
            && let Self::Unbuilt(start) = std::mem::replace(self, Self::Retired)
        {
            let telemetry = start.telemetry().clone();
            match catch_unwind(AssertUnwindSafe(|| start.build())) {
                Ok(engine) => *self = Self::Built(Box::new(engine)),
                Err(panic) => {
                    nice_plug::nice_error!(
                        "the engine failed to start ({}); it stays silent until the plugin is \
                         restarted",
                        panic_message(panic.as_ref())
                    );
                    telemetry.set_engine_running(false);
                    return Step::Stopped;
                }
            }
        }
        let Self::Built(engine) = self else {
            return Step::Stopped;
        };
        match catch_unwind(AssertUnwindSafe(|| engine.service())) {
            Ok(Step::Stopped) => {
                // Dropped at once: with its audio side gone, its handle may not stop it for long.
                *self = Self::Retired;
                Step::Stopped
            }
            Ok(step) => step,
            Err(panic) => {
                nice_plug::nice_error!(
                    "the engine failed beyond recovery ({}); it stays silent until the plugin \
                     is restarted",
                    panic_message(panic.as_ref())
                );
                // Dropping a broken engine may panic again; the worker must go on regardless.
                let _ = catch_unwind(AssertUnwindSafe(|| self.retire()));
                Step::Stopped
            }
        }
    }

    /// Finishes the engine and drops it, core and all, on the calling thread.
    fn retire(&mut self) {
        match std::mem::replace(self, Self::Retired) {
            Self::Unbuilt(start) => start.telemetry().set_engine_running(false),
            Self::Built(mut engine) => engine.finish(),
            Self::Retired => {}
        }
    }
}

impl Slot {
    /// Services the engine unless another worker is at it.
    fn service(&self) -> Step {
        let mut engine = match self.engine.try_lock() {
            Ok(engine) => engine,
            // Nothing panics with the lock held: panics are caught inside `Pooled::service`.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return Step::Waiting,
        };
        engine.service()
    }
}

/// An engine's place in the pool. Dropping it (or [`unregister`](Self::unregister)) takes the
/// engine out.
pub(super) struct Registration {
    slot: Arc<Slot>,
}

/// Registers an engine with the pool, starting a worker if there are fewer than engines and
/// than cores. The engine is built on a worker, on its first service.
///
/// # Errors
/// Fails if no worker runs and the operating system refuses to create one.
pub(super) fn register(start: EngineStart) -> std::io::Result<Registration> {
    let slot = Arc::new(Slot {
        #[cfg(test)]
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        engine: Mutex::new(Pooled::Unbuilt(Box::new(start))),
    });
    let mut registry = POOL.lock();
    registry.engines.push(slot.clone());
    POOL.generation.fetch_add(1, Ordering::Release);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    if registry.workers.len() < registry.engines.len().min(cores) {
        match spawn_worker(registry.epoch) {
            Ok(worker) => registry.workers.push(worker),
            Err(err) if registry.workers.is_empty() => {
                registry.engines.pop();
                POOL.generation.fetch_add(1, Ordering::Release);
                return Err(err);
            }
            Err(err) => nice_plug::nice_warn!(
                "could not start another engine worker ({err}); the running ones take the new \
                 engine"
            ),
        }
    }
    // Workers with no engines sleep until woken.
    for worker in &registry.workers {
        worker.wake();
    }
    Ok(Registration { slot })
}

impl Registration {
    /// Takes the engine out of the pool: when this returns, no worker services it any more,
    /// it has finished and its core has been dropped (on this thread, unless a worker already
    /// dropped it because its audio side had gone). Waits for a worker servicing it to end
    /// its turn, which the engine's stop flag, set before, keeps short. If that leaves more
    /// workers than engines, one worker is joined too; the last engine joins them all.
    pub(super) fn unregister(self) {
        drop(self);
    }

    /// Tells this registration apart from others.
    #[cfg(test)]
    pub(super) fn id(&self) -> u64 {
        self.slot.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let idle_workers = {
            let mut registry = POOL.lock();
            registry
                .engines
                .retain(|slot| !Arc::ptr_eq(slot, &self.slot));
            POOL.generation.fetch_add(1, Ordering::Release);
            if registry.engines.is_empty() {
                registry.epoch += 1;
                std::mem::take(&mut registry.workers)
            } else {
                let keep = registry.engines.len().min(registry.workers.len());
                registry.workers.split_off(keep)
            }
        };
        self.slot
            .engine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retire();
        for worker in idle_workers {
            worker.join();
        }
    }
}

fn spawn_worker(epoch: u64) -> std::io::Result<Worker> {
    let retire = Arc::new(AtomicBool::new(false));
    let told = retire.clone();
    let thread = std::thread::Builder::new()
        .name("auralis-engine".into())
        .spawn(move || work(epoch, &told))?;
    Ok(Worker { thread, retire })
}

/// A worker's life: passes over the registered engines until it is told to retire or the
/// epoch it was started in ends.
fn work(epoch: u64, retire: &AtomicBool) {
    DenormalGuard::enable_for_thread();
    // This worker's copy of the list, so passes need no lock.
    let mut engines: Vec<Arc<Slot>> = Vec::new();
    let mut seen = None;
    loop {
        if retire.load(Ordering::Acquire) {
            return;
        }
        if seen != Some(POOL.generation.load(Ordering::Acquire)) {
            let registry = POOL.lock();
            if registry.epoch != epoch {
                return;
            }
            engines.clone_from(&registry.engines);
            seen = Some(POOL.generation.load(Ordering::Relaxed));
        }
        if engines.is_empty() {
            std::thread::park();
            continue;
        }
        let mut worked = false;
        for slot in &engines {
            worked |= slot.service() == Step::Worked;
        }
        if !worked {
            std::thread::park_timeout(IDLE_POLL);
        }
    }
}

/// Whether the registration with this id is still in the pool.
#[cfg(test)]
pub(super) fn is_registered(id: u64) -> bool {
    POOL.lock().engines.iter().any(|slot| slot.id == id)
}

/// How many workers run now.
#[cfg(test)]
pub(super) fn workers() -> usize {
    POOL.lock().workers.len()
}
