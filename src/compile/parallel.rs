//! Doing a list's work on two threads while its results are still taken one by one, in list
//! order, on the calling thread: parsing and checking a large inventory's batches, and
//! rendering its units.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Builder;

/// How many items past the one the caller takes next may be worked on, so the results waiting
/// to be taken stay a few, not the whole list.
const AHEAD: usize = 8;

/// The second thread, when the machine has a second core: `None` on one core, where a second
/// thread only adds switching. (Asked once: `available_parallelism` reads cgroup files.)
fn helper_thread() -> Option<Builder> {
    static TWO_CORES: OnceLock<bool> = OnceLock::new();
    let two_cores =
        *TWO_CORES.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2));
    two_cores.then(|| Builder::new().name("quadgen-compile".into()))
}

/// Applies `work` to every item and hands each result to `take`, in item order, on the calling
/// thread; returns `false` as soon as `take` does (at most [`AHEAD`] items past that one have
/// been worked on, and their results are dropped). A second thread works on the items too,
/// whenever there is more than one and the machine has a second core; the calling thread works
/// on the next item whenever the one it takes next is not ready.
pub fn map_in_order<I: Sync, T: Send>(
    items: &[I],
    work: impl Fn(&I) -> T + Sync,
    take: impl FnMut(T) -> bool,
) -> bool {
    map_on(helper_thread(), items, work, take)
}

/// [`map_in_order`] with a second thread started by `helper`; on one thread when it is `None`
/// or cannot start one (a process or memory limit).
fn map_on<I: Sync, T: Send>(
    helper: Option<Builder>,
    items: &[I],
    work: impl Fn(&I) -> T + Sync,
    mut take: impl FnMut(T) -> bool,
) -> bool {
    let Some(helper) = helper.filter(|_| items.len() >= 2) else {
        return items.iter().all(|item| take(work(item)));
    };
    let shared = Shared {
        state: Mutex::new(State::default()),
        finished: Condvar::new(),
        taken: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let Ok(handle) = helper.spawn_scoped(scope, || shared.help(items, &work)) else {
            return items.iter().all(|item| take(work(item)));
        };
        let complete = {
            let _stop = Stop(&shared);
            shared.lead(items, &work, &mut take)
        };
        // The helper's own panic, with its message, rather than the scope's generic one.
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
        complete
    })
}

/// From this many items on, [`map_unordered`] uses a second thread: below, starting it costs
/// more than it saves.
const UNORDERED_FROM: usize = 64;

/// Applies `work` to every item, on two threads when there are many items and two cores; the
/// results come in no particular order.
pub fn map_unordered<T, R: Send>(
    items: impl Iterator<Item = T> + Send,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    unordered_on(helper_thread(), items, work)
}

/// [`map_unordered`] with a second thread started by `helper`, as in [`map_on`].
fn unordered_on<T, R: Send>(
    helper: Option<Builder>,
    items: impl Iterator<Item = T> + Send,
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let Some(helper) = helper.filter(|_| items.size_hint().0 >= UNORDERED_FROM) else {
        return items.map(work).collect();
    };
    let items = Mutex::new(items);
    // Set when either thread panics, so the other takes no new item.
    let failed = AtomicBool::new(false);
    // The lock is held only to take an item, never while working on one.
    let next = || {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        items.lock().unwrap_or_else(PoisonError::into_inner).next()
    };
    let run = || {
        let _failed = FlagOnPanic(&failed);
        std::iter::from_fn(next).map(&work).collect::<Vec<R>>()
    };
    std::thread::scope(|scope| {
        // Without a second thread, this one does all the work.
        let handle = helper.spawn_scoped(scope, run).ok();
        let mut results = run();
        match handle.map(std::thread::ScopedJoinHandle::join) {
            Some(Ok(theirs)) => results.extend(theirs),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
        results
    })
}

/// Sets its flag when the thread unwinds past it.
struct FlagOnPanic<'f>(&'f AtomicBool);

impl Drop for FlagOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// What the two threads share.
struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when the helper has finished an item (or stopped).
    finished: Condvar,
    /// Signalled when the caller has taken an item (or stopped).
    taken: Condvar,
}

struct State<T> {
    /// The first item nobody works on yet.
    next: usize,
    /// The item the caller takes next.
    to_take: usize,
    /// Results finished before their turn, by item.
    waiting: BTreeMap<usize, T>,
    /// Set by the caller when it stops, so the helper takes no new item.
    stop: bool,
    /// Set when the helper has ended, normally or by a panic.
    helper_gone: bool,
}

impl<T> Default for State<T> {
    fn default() -> Self {
        Self {
            next: 0,
            to_take: 0,
            waiting: BTreeMap::new(),
            stop: false,
            helper_gone: false,
        }
    }
}

/// What the caller does next.
enum Step<T> {
    Take(T),
    Work(usize),
    /// The helper ended without finishing the item the caller needs (it panicked).
    Abandoned,
}

/// Marks the helper gone when it ends, panicking or not, so the caller never waits for it.
struct Gone<'s, T>(&'s Shared<T>);

impl<T> Drop for Gone<'_, T> {
    fn drop(&mut self) {
        self.0.state().helper_gone = true;
        self.0.finished.notify_all();
    }
}

/// Tells the helper to stop when the caller is done, returning or panicking, so the scope's
/// join never waits on a helper that waits for the caller.
struct Stop<'s, T>(&'s Shared<T>);

impl<T> Drop for Stop<'_, T> {
    fn drop(&mut self) {
        self.0.state().stop = true;
        self.0.taken.notify_all();
    }
}

impl<T> Shared<T> {
    /// The state; a panic on the other thread never holds the lock while it changes the state,
    /// so a poisoned lock still holds a consistent one.
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The helper thread: works on the next item while it is at most [`AHEAD`] past the one the
    /// caller takes next, until there is none or the caller stops.
    fn help<I>(&self, items: &[I], work: &(impl Fn(&I) -> T + Sync)) {
        let _gone = Gone(self);
        loop {
            let index = {
                let mut state = self.state();
                while !state.stop && state.next < items.len() && state.next > state.to_take + AHEAD
                {
                    state = self
                        .taken
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if state.stop || state.next >= items.len() {
                    return;
                }
                state.next += 1;
                state.next - 1
            };
            let result = work(&items[index]);
            self.state().waiting.insert(index, result);
            self.finished.notify_one();
        }
    }

    /// The calling thread: takes each result in order, working on the next item itself
    /// whenever the one it needs is not ready.
    fn lead<I>(
        &self,
        items: &[I],
        work: &(impl Fn(&I) -> T + Sync),
        take: &mut impl FnMut(T) -> bool,
    ) -> bool {
        let mut to_take = 0;
        while to_take < items.len() {
            let result = match self.next_step(items.len(), to_take) {
                Step::Take(result) => result,
                Step::Work(index) if index == to_take => work(&items[index]),
                Step::Work(index) => {
                    let result = work(&items[index]);
                    self.state().waiting.insert(index, result);
                    continue;
                }
                Step::Abandoned => return false,
            };
            if !take(result) {
                return false;
            }
            to_take += 1;
            self.state().to_take = to_take;
            self.taken.notify_one();
        }
        true
    }

    /// The caller's next step: take item `to_take` when it is ready, or else work on the first
    /// item nobody works on (at most [`AHEAD`] past `to_take`), or else wait for the helper to
    /// finish `to_take`. (The caller holds no item while it asks, so a `to_take` that is taken
    /// by someone and not ready is the helper's.)
    fn next_step(&self, len: usize, to_take: usize) -> Step<T> {
        let mut state = self.state();
        loop {
            if let Some(result) = state.waiting.remove(&to_take) {
                return Step::Take(result);
            }
            if state.helper_gone && to_take < state.next {
                return Step::Abandoned;
            }
            if state.next < len && state.next <= to_take + AHEAD {
                state.next += 1;
                return Step::Work(state.next - 1);
            }
            state = self
                .finished
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A second thread for the tests, whatever the machine's cores.
    fn two() -> Option<Builder> {
        Some(Builder::new())
    }

    /// A builder whose thread cannot start: its stack is larger than the address space.
    fn unstartable() -> Option<Builder> {
        Some(Builder::new().stack_size(1 << 52))
    }

    /// Runs `body` and returns its result, failing the test (instead of hanging it) when it
    /// has not finished after 20 s; a panic in `body` is the test's.
    fn within_20s<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
        let (sender, receiver) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || sender.send(body()).ok());
        match receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(_) => unreachable!("the body sends unless it panics"),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("hung for 20 s"),
        }
    }

    /// Whether the current thread is the helper (the tests name nothing else "helper").
    fn on_helper(caller: std::thread::ThreadId) -> bool {
        std::thread::current().id() != caller
    }

    #[test]
    fn every_result_is_taken_once_in_order() {
        within_20s(|| {
            for len in [0, 1, 2, 3, 17, 1000] {
                for helper in [two(), None, unstartable()] {
                    let items: Vec<usize> = (0..len).collect();
                    let mut taken = Vec::new();
                    let complete = map_on(
                        helper,
                        &items,
                        |&i| {
                            if i % 7 == 0 {
                                std::thread::yield_now();
                            }
                            i * 2
                        },
                        |r| {
                            taken.push(r);
                            true
                        },
                    );
                    assert!(complete);
                    assert_eq!(taken, items.iter().map(|i| i * 2).collect::<Vec<_>>());
                }
            }
        });
    }

    #[test]
    fn neither_thread_works_more_than_ahead_past_the_item_taken_next() {
        within_20s(|| {
            // The helper stalls on its first item, which the caller needs next: the caller must
            // not run on through the whole list meanwhile.
            let items: Vec<usize> = (0..200).collect();
            let caller = std::thread::current().id();
            let to_take = AtomicUsize::new(0);
            let most_ahead = AtomicUsize::new(0);
            let stalled = AtomicBool::new(false);
            map_on(
                two(),
                &items,
                |&i| {
                    let ahead = i.saturating_sub(to_take.load(Ordering::SeqCst));
                    most_ahead.fetch_max(ahead, Ordering::SeqCst);
                    if on_helper(caller) {
                        if !stalled.swap(true, Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(30));
                        }
                    } else {
                        // However late the helper starts (a loaded machine), it takes part.
                        while !stalled.load(Ordering::SeqCst) {
                            std::thread::yield_now();
                        }
                    }
                    i
                },
                |r| {
                    // A slow taker too: the helper would run away without its limit.
                    std::thread::sleep(Duration::from_micros(100));
                    to_take.store(r + 1, Ordering::SeqCst);
                    true
                },
            );
            assert!(stalled.load(Ordering::SeqCst), "the helper never worked");
            let most_ahead = most_ahead.load(Ordering::SeqCst);
            assert!(most_ahead <= AHEAD + 1, "worked {most_ahead} ahead");
        });
    }

    #[test]
    fn stopping_early_leaves_the_rest_undone() {
        within_20s(|| {
            // The stop comes at the item the helper stalls on.
            let items: Vec<usize> = (0..10_000).collect();
            let caller = std::thread::current().id();
            let last_worked = AtomicUsize::new(0);
            let stalled_at = AtomicUsize::new(usize::MAX);
            let mut taken = 0;
            let complete = map_on(
                two(),
                &items,
                |&i| {
                    last_worked.fetch_max(i, Ordering::SeqCst);
                    if !on_helper(caller) {
                        // However late the helper starts (a loaded machine), it takes part.
                        while stalled_at.load(Ordering::SeqCst) == usize::MAX {
                            std::thread::yield_now();
                        }
                        return i;
                    }
                    let first_on_helper = stalled_at
                        .compare_exchange(usize::MAX, i, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                    if first_on_helper {
                        std::thread::sleep(Duration::from_millis(30));
                    }
                    i
                },
                |r| {
                    taken += 1;
                    r != stalled_at.load(Ordering::SeqCst)
                },
            );
            let stalled_at = stalled_at.load(Ordering::SeqCst);
            assert!(!complete);
            assert_eq!(taken, stalled_at + 1);
            let last_worked = last_worked.load(Ordering::SeqCst);
            assert!(
                last_worked <= stalled_at + AHEAD,
                "worked up to {last_worked}"
            );
        });
    }

    #[test]
    fn a_panic_on_either_thread_reaches_the_caller_with_its_message() {
        for panics_on_helper in [true, false] {
            let caught = within_20s(move || {
                let items: Vec<usize> = (0..100).collect();
                let caller = std::thread::current().id();
                let helper_started = AtomicBool::new(false);
                std::panic::catch_unwind(|| {
                    map_on(
                        two(),
                        &items,
                        |_| {
                            if on_helper(caller) {
                                helper_started.store(true, Ordering::SeqCst);
                            } else {
                                // Both threads are at work before either panics.
                                while !helper_started.load(Ordering::SeqCst) {
                                    std::thread::yield_now();
                                }
                            }
                            assert!(on_helper(caller) != panics_on_helper, "work failed");
                        },
                        |()| true,
                    )
                })
            });
            let panic = caught.expect_err("the panic reaches the caller");
            assert_eq!(
                message(&*panic),
                Some("work failed"),
                "on the helper: {panics_on_helper}"
            );
        }
        // A panic in the caller's `take` while the helper may wait for room.
        let caught = within_20s(|| {
            std::panic::catch_unwind(|| {
                let items: Vec<usize> = (0..100).collect();
                map_on(
                    two(),
                    &items,
                    |&i| i,
                    |i| {
                        assert!(i != 1, "taken 1");
                        true
                    },
                )
            })
        });
        assert!(caught.is_err());
    }

    #[test]
    fn unordered_gives_every_result_once_from_both_threads() {
        within_20s(|| {
            for len in [0, 1, UNORDERED_FROM - 1, UNORDERED_FROM, 5000] {
                for helper in [two(), None, unstartable()] {
                    let mut results = unordered_on(helper, 0..len, |i| i * 3);
                    results.sort_unstable();
                    assert_eq!(results, (0..len).map(|i| i * 3).collect::<Vec<_>>());
                }
            }
            // Each thread's first item waits for the other thread's: both must take part, and
            // the helper's results must reach the caller's list.
            let caller = std::thread::current().id();
            let started = [AtomicBool::new(false), AtomicBool::new(false)];
            let results = unordered_on(two(), 0..UNORDERED_FROM, |i| {
                let mine = usize::from(on_helper(caller));
                if !started[mine].swap(true, Ordering::SeqCst) {
                    while !started[1 - mine].load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                }
                (i, mine)
            });
            assert_eq!(results.len(), UNORDERED_FROM);
            assert!(
                results.iter().any(|&(_, on)| on == 1),
                "nothing from the helper"
            );
        });
    }

    #[test]
    fn an_unordered_panic_reaches_the_caller_and_stops_the_other_thread() {
        for panics_on_helper in [true, false] {
            let worked = within_20s(move || {
                let caller = std::thread::current().id();
                let panicked = AtomicBool::new(false);
                let worked = AtomicUsize::new(0);
                let caught = std::panic::catch_unwind(|| {
                    unordered_on(two(), 0..100_000, |_| {
                        if on_helper(caller) == panics_on_helper
                            && !panicked.swap(true, Ordering::SeqCst)
                        {
                            panic!("unit failed");
                        }
                        // However late the helper starts, it gets to panic first.
                        while !panicked.load(Ordering::SeqCst) {
                            std::thread::yield_now();
                        }
                        worked.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(50));
                    })
                });
                assert_eq!(
                    message(&*caught.expect_err("the panic")),
                    Some("unit failed")
                );
                worked.load(Ordering::SeqCst)
            });
            // 100,000 items take 5 s; the other thread stops once the panic has unwound (which
            // takes a while when the panic hook prints a backtrace).
            assert!(
                worked < 20_000,
                "{worked} items worked (on the helper: {panics_on_helper})"
            );
        }
    }

    /// The message of a panic's payload.
    fn message(panic: &(dyn std::any::Any + Send)) -> Option<&str> {
        (panic.downcast_ref::<&str>().copied())
            .or(panic.downcast_ref::<String>().map(String::as_str))
    }
}
