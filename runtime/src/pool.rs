//! The thread pool: a fixed set of worker threads that, together with the
//! calling thread, run the pieces `0..n` of one parallel loop at a time.
//!
//! # Why our own pool
//!
//! Kernels are split into a handful of pieces, so all the pool has to do is
//! a fork-join over a small index range, fast. Measured on the project
//! machine (2 vCPU, shared: load average ~9 during the run;
//! `cargo bench -p gradlift-runtime --bench executor`, group `pool`, trivial
//! loop bodies, 2 threads, criterion medians):
//!
//! | fork-join of | this pool | rayon 1.12 (`install` + `join` / `par_iter`) |
//! | --- | --- | --- |
//! | 2 pieces | 1.10 µs | 23.6 µs |
//! | 8 pieces | 1.16 µs | 23.9 µs |
//!
//! Rayon also allocates now and then on calls from outside its pool (its
//! injector queue takes a new block every 63 jobs), which would break the
//! executor's "a steady-state call allocates nothing". This pool allocates
//! only when it is created.
//!
//! # Design
//!
//! One job at a time. The owner of a job publishes it in one atomic word
//! (`job id | piece count | next piece`), then claims pieces itself like
//! any worker; workers claim pieces with a compare-and-swap on that word,
//! so a piece is only claimed while its job is still published, and a job
//! cannot complete (its owner cannot return) while a claimed piece runs.
//! Idle workers spin for a short while (back-to-back kernels of one
//! program find them awake), then sleep on a condition variable. A caller
//! that finds the pool busy (another thread's job, or a nested loop) runs
//! its pieces inline: results never depend on how pieces are spread.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::RuntimeError;

/// The environment variable that sets the global pool's thread count.
pub const NUM_THREADS_ENV: &str = "GRADLIFT_NUM_THREADS";

/// The most pieces one parallel loop may spread over the pool (the count
/// lives in 16 bits of the job word); a loop with more runs inline.
pub const MAX_PIECES: usize = 0xffff;

/// Workers' stack size. Kernels of very long bodies keep their long-lived
/// values in stack frames (about 16 bytes per value live across the body:
/// 16 KiB for the gradient of a 1000-step unrolled map), so workers get
/// more than Rust's 2 MiB default; the memory is only reserved, pages are
/// committed as they are touched. Kernels probe their frames, so a body
/// that still does not fit stops at the guard page. The calling thread
/// runs pieces too, on its own stack.
const WORKER_STACK: usize = 64 << 20;
/// How long an idle worker spins before it sleeps.
const WORKER_SPIN: Duration = Duration::from_micros(50);
/// How long the owner of a job spins waiting for the last pieces before it
/// sleeps.
const OWNER_SPIN: Duration = Duration::from_micros(200);
/// After this long, a spinning thread yields its core on every round, so
/// that a descheduled pool thread (e.g. one still running a piece the owner
/// waits for) can get it on a machine shared with other processes.
const YIELD_AFTER: Duration = Duration::from_micros(5);

/// A fixed-size pool of worker threads (see the module docs).
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool").field("threads", &self.threads).finish()
    }
}

/// The type-erased loop body of the current job.
type Body = dyn Fn(usize) + Sync;

struct Shared {
    /// `job id (32 bits) | pieces (16) | next unclaimed piece (16)`.
    state: AtomicU64,
    /// The body of the published job. Written only by the job's owner
    /// while no piece can be claimed (before publishing, after completion).
    body: UnsafeCell<*const Body>,
    /// Pieces of the current job that have finished.
    done: AtomicUsize,
    /// Some thread owns the pool (is publishing or waiting on a job).
    busy: AtomicBool,
    /// Workers asleep on `wake`.
    sleepers: AtomicUsize,
    /// The owner sleeps on `finished` waiting for the last piece.
    owner_waiting: AtomicBool,
    /// A piece panicked on a worker during the current job.
    worker_panicked: AtomicBool,
    shutdown: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
    finished: Condvar,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            state: AtomicU64::new(0),
            body: UnsafeCell::new(std::ptr::null::<fn(usize)>() as *const Body),
            done: AtomicUsize::new(0),
            busy: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            owner_waiting: AtomicBool::new(false),
            worker_panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            finished: Condvar::new(),
        }
    }
}

// SAFETY: `body` is the only non-Sync field. It is written by the single
// owner of the pool (`busy`) while no worker can read it, and read by a
// worker only after a successful claim, which the owner's Release store of
// `state` happens-before (see `ThreadPool::for_each`).
unsafe impl Sync for Shared {}
// SAFETY: the raw pointer in `body` is only dereferenced under the protocol
// above; moving the struct between threads does not touch it.
unsafe impl Send for Shared {}

const PIECES_SHIFT: u32 = 16;
const ID_SHIFT: u32 = 32;
const LOW16: u64 = 0xffff;

fn job_id(state: u64) -> u64 {
    state >> ID_SHIFT
}
fn job_pieces(state: u64) -> usize {
    ((state >> PIECES_SHIFT) & LOW16) as usize
}
fn job_next(state: u64) -> usize {
    (state & LOW16) as usize
}

impl ThreadPool {
    /// A pool running loops on `threads` threads in all: the caller plus
    /// `threads - 1` workers (`threads == 0` counts as 1). A pool of one
    /// thread starts nothing and runs every loop inline.
    pub fn new(threads: usize) -> Result<ThreadPool, RuntimeError> {
        let threads = threads.max(1);
        let mut pool = ThreadPool { shared: Arc::new(Shared::new()), workers: Vec::new(), threads };
        for i in 1..threads {
            let shared = Arc::clone(&pool.shared);
            let handle = std::thread::Builder::new()
                .name(format!("gradlift-worker-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || worker(&shared))
                .map_err(|e| RuntimeError::ThreadSpawn { msg: e.to_string() })?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    /// The process-wide default pool, started on first use with
    /// `GRADLIFT_NUM_THREADS` threads if that is set to a positive
    /// integer, else one per available CPU. If the threads cannot be
    /// started, the pool has one thread (everything runs inline).
    pub fn global() -> &'static Arc<ThreadPool> {
        static GLOBAL: OnceLock<Arc<ThreadPool>> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let threads = default_threads();
            Arc::new(ThreadPool::new(threads).unwrap_or_else(|_| ThreadPool::single()))
        })
    }

    /// A pool of one thread: every loop runs inline on the caller.
    pub fn single() -> ThreadPool {
        ThreadPool { shared: Arc::new(Shared::new()), workers: Vec::new(), threads: 1 }
    }

    /// Number of threads a loop may use (the caller included).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `body(i)` for every `i` in `0..pieces`, each exactly once,
    /// spread over the pool's threads and the caller; returns when all are
    /// done. If the pool is busy with another caller's loop (or this is a
    /// nested call), the pieces run inline, in order. Allocates nothing.
    pub fn for_each(&self, pieces: usize, body: &(dyn Fn(usize) + Sync)) {
        if pieces == 0 {
            return;
        }
        if self.threads == 1 || pieces == 1 || pieces > MAX_PIECES || !self.try_acquire() {
            (0..pieces).for_each(body);
            return;
        }
        let sh = &*self.shared;
        // SAFETY: we own the pool (`busy`) and the previous job completed
        // (every claimed piece finished before its owner released the
        // pool), so no worker reads `body` now. The lifetime is erased;
        // the pointer is only used while this call waits for completion.
        unsafe {
            let short: *const (dyn Fn(usize) + Sync + '_) = body;
            *sh.body.get() =
                std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Body>(short);
        }
        sh.done.store(0, Ordering::Relaxed);
        let id = job_id(sh.state.load(Ordering::Relaxed)).wrapping_add(1) & 0xffff_ffff;
        let published = (id << ID_SHIFT) | ((pieces as u64) << PIECES_SHIFT);
        sh.state.store(published, Ordering::SeqCst);
        if sh.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = lock(&sh.lock);
            sh.wake.notify_all();
        }
        // Work alongside the workers. A panic must not unwind past this
        // frame while workers may still call `body`: hold it until the
        // job completed.
        let mut panic = None;
        while let Some(i) = claim(sh, id) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| body(i))) {
                panic.get_or_insert(p);
            }
            sh.done.fetch_add(1, Ordering::SeqCst);
        }
        // Wait for pieces other threads still run.
        let start = Instant::now();
        while sh.done.load(Ordering::Acquire) < pieces {
            let waited = start.elapsed();
            if waited > OWNER_SPIN {
                let mut guard = lock(&sh.lock);
                sh.owner_waiting.store(true, Ordering::SeqCst);
                while sh.done.load(Ordering::SeqCst) < pieces {
                    guard = sh.finished.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                sh.owner_waiting.store(false, Ordering::SeqCst);
                break;
            }
            if waited > YIELD_AFTER {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let worker_panicked = sh.worker_panicked.swap(false, Ordering::SeqCst);
        sh.busy.store(false, Ordering::Release);
        if let Some(p) = panic {
            resume_unwind(p);
        }
        if worker_panicked {
            panic!("a thread pool worker panicked while running a parallel loop");
        }
    }

    fn try_acquire(&self) -> bool {
        self.shared.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let sh = &*self.shared;
        sh.shutdown.store(true, Ordering::SeqCst);
        // A new id with no pieces wakes spinning workers without work.
        let id = job_id(sh.state.load(Ordering::Relaxed)).wrapping_add(1) & 0xffff_ffff;
        sh.state.store(id << ID_SHIFT, Ordering::SeqCst);
        {
            let _guard = lock(&sh.lock);
            sh.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            // A worker only panics if a loop body panicked; that panic was
            // already reported on the worker's thread.
            let _ = w.join();
        }
    }
}

/// The thread count of the global pool: `GRADLIFT_NUM_THREADS` if it is a
/// positive integer, else the number of CPUs available to the process.
pub fn default_threads() -> usize {
    threads_setting(std::env::var(NUM_THREADS_ENV).ok().as_deref(), || {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    })
}

/// The thread count a `GRADLIFT_NUM_THREADS` value asks for, else `cpus()`.
fn threads_setting(var: Option<&str>, cpus: impl FnOnce() -> usize) -> usize {
    var.and_then(|s| s.trim().parse::<usize>().ok()).filter(|&n| n > 0).unwrap_or_else(cpus)
}

/// Claims the next piece of job `id`, if that job is still published and
/// has unclaimed pieces.
fn claim(sh: &Shared, id: u64) -> Option<usize> {
    let mut s = sh.state.load(Ordering::SeqCst);
    loop {
        if job_id(s) != id || job_next(s) >= job_pieces(s) {
            return None;
        }
        match sh.state.compare_exchange_weak(s, s + 1, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return Some(job_next(s)),
            Err(now) => s = now,
        }
    }
}

fn worker(sh: &Shared) {
    // Job ids start at 0 when the pool is made: a job (or the shutdown)
    // published before this thread got going still shows as new.
    let mut seen = 0;
    loop {
        // Wait for a job id we have not seen.
        let start = Instant::now();
        let mut s = sh.state.load(Ordering::SeqCst);
        while job_id(s) == seen {
            let waited = start.elapsed();
            if waited > WORKER_SPIN {
                let mut guard = lock(&sh.lock);
                sh.sleepers.fetch_add(1, Ordering::SeqCst);
                while job_id(sh.state.load(Ordering::SeqCst)) == seen {
                    guard = sh.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                sh.sleepers.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
            }
            if waited > YIELD_AFTER {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
            s = sh.state.load(Ordering::SeqCst);
        }
        if sh.shutdown.load(Ordering::SeqCst) {
            return;
        }
        seen = job_id(s);
        while let Some(i) = claim(sh, seen) {
            // SAFETY: our claim succeeded, so the job is published and
            // cannot complete before we count this piece done: its owner
            // is still waiting and `body` points to its live closure.
            let body = unsafe { &**sh.body.get() };
            if catch_unwind(AssertUnwindSafe(|| body(i))).is_err() {
                sh.worker_panicked.store(true, Ordering::SeqCst);
            }
            if sh.done.fetch_add(1, Ordering::SeqCst) + 1 == job_pieces(s)
                && sh.owner_waiting.load(Ordering::SeqCst)
            {
                let _guard = lock(&sh.lock);
                sh.finished.notify_all();
            }
        }
    }
}

/// Locks the pool's mutex; it guards no data, so poisoning is harmless.
fn lock(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// Every piece runs exactly once, whoever runs it.
    fn check_once(pool: &ThreadPool, pieces: usize) {
        let hits: Vec<AtomicU32> = (0..pieces).map(|_| AtomicU32::new(0)).collect();
        pool.for_each(pieces, &|i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn each_piece_runs_once() {
        for threads in [1, 2, 3, 8] {
            let pool = ThreadPool::new(threads).unwrap();
            assert_eq!(pool.threads(), threads);
            for pieces in [0, 1, 2, 5, 64, 1000] {
                for _ in 0..20 {
                    check_once(&pool, pieces);
                }
            }
        }
    }

    #[test]
    fn concurrent_and_nested_loops_fall_back_to_inline() {
        let pool = Arc::new(ThreadPool::new(4).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        check_once(&pool, 7);
                        // A loop inside a loop body runs inline.
                        pool.for_each(3, &|_| check_once(&pool, 5));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn a_panicking_piece_reaches_the_caller_and_the_pool_survives() {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..10 {
            let r = catch_unwind(AssertUnwindSafe(|| {
                pool.for_each(16, &|i| {
                    if i % 5 == 3 {
                        panic!("piece {i}");
                    }
                })
            }));
            assert!(r.is_err());
            check_once(&pool, 16);
        }
    }

    #[test]
    fn pools_start_and_stop_quickly() {
        for _ in 0..50 {
            let pool = ThreadPool::new(3).unwrap();
            check_once(&pool, 4);
        }
        for _ in 0..50 {
            drop(ThreadPool::new(2).unwrap());
        }
    }

    #[test]
    fn thread_count_setting() {
        assert_eq!(threads_setting(Some("3"), || 2), 3);
        assert_eq!(threads_setting(Some(" 8 "), || 2), 8);
        assert_eq!(threads_setting(Some("0"), || 2), 2);
        assert_eq!(threads_setting(Some("many"), || 2), 2);
        assert_eq!(threads_setting(None, || 5), 5);
    }

    #[test]
    fn default_threads_is_positive() {
        assert!(default_threads() >= 1);
        assert!(ThreadPool::global().threads() >= 1);
    }
}
