//! Doing a list's work on two threads while its results are still taken one by one, in list
//! order, on the calling thread: parsing a large inventory's batches while the calling thread
//! checks the ones before.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// How many items the helper thread may finish ahead of the one the caller takes next, so the
/// results waiting to be taken stay a few, not the whole list.
const AHEAD: usize = 8;

/// Applies `work` to every item and hands each result to `take`, in item order, on the calling
/// thread; returns `false` as soon as `take` does (the rest is not worked on). A second thread
/// works on the items too, whenever there is more than one and the machine has a second core;
/// the calling thread works on the next item whenever the one it takes next is not ready.
pub fn map_in_order<I: Sync, T: Send>(
    items: &[I],
    work: impl Fn(&I) -> T + Sync,
    take: impl FnMut(T) -> bool,
) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    map_on(cores >= 2, items, work, take)
}

/// [`map_in_order`], on two threads only when `two_threads` is true.
fn map_on<I: Sync, T: Send>(
    two_threads: bool,
    items: &[I],
    work: impl Fn(&I) -> T + Sync,
    mut take: impl FnMut(T) -> bool,
) -> bool {
    if items.len() < 2 || !two_threads {
        return items.iter().all(|item| take(work(item)));
    }
    let shared = Shared {
        state: Mutex::new(State::default()),
        finished: Condvar::new(),
        taken: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new().spawn_scoped(scope, || shared.help(items, &work));
        if helper.is_err() {
            // No thread to be had (a process or memory limit): the same work on this one.
            return items.iter().all(|item| take(work(item)));
        }
        let _stop = Stop(&shared);
        shared.lead(items, &work, &mut take)
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
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 || items.size_hint().0 < UNORDERED_FROM {
        return items.map(work).collect();
    }
    let items = Mutex::new(items);
    // The lock is held only to take an item, never while working on one.
    let next = || items.lock().unwrap_or_else(PoisonError::into_inner).next();
    let run = || std::iter::from_fn(next).map(&work).collect::<Vec<R>>();
    std::thread::scope(|scope| {
        // Without a second thread (a process or memory limit), this one does all the work.
        let helper = std::thread::Builder::new().spawn_scoped(scope, run).ok();
        let mut results = run();
        match helper.map(std::thread::ScopedJoinHandle::join) {
            Some(Ok(theirs)) => results.extend(theirs),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {}
        }
        results
    })
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
    /// The helper ended without the item the caller needs (it panicked).
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
    /// item nobody works on, or else wait for the helper to finish `to_take`.
    fn next_step(&self, len: usize, to_take: usize) -> Step<T> {
        let mut state = self.state();
        loop {
            if let Some(result) = state.waiting.remove(&to_take) {
                return Step::Take(result);
            }
            if state.next < len {
                state.next += 1;
                return Step::Work(state.next - 1);
            }
            if state.helper_gone {
                return Step::Abandoned;
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_result_is_taken_once_in_order() {
        for (len, two_threads) in [0, 1, 2, 3, 17, 1000]
            .into_iter()
            .flat_map(|l| [(l, true), (l, false)])
        {
            let items: Vec<usize> = (0..len).collect();
            let mut taken = Vec::new();
            let complete = map_on(
                two_threads,
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

    #[test]
    fn stopping_early_leaves_the_rest_undone() {
        let items: Vec<usize> = (0..10_000).collect();
        let worked = AtomicUsize::new(0);
        let mut taken = Vec::new();
        let complete = map_on(
            true,
            &items,
            |&i| {
                worked.fetch_add(1, Ordering::Relaxed);
                i
            },
            |r| {
                taken.push(r);
                r < 5
            },
        );
        assert!(!complete);
        assert_eq!(taken, vec![0, 1, 2, 3, 4, 5]);
        // Only what was under way, at most AHEAD past the stop on the helper and one on the caller.
        assert!(worked.load(Ordering::Relaxed) <= 6 + AHEAD + 2);
    }

    #[test]
    fn the_helper_stays_at_most_a_few_items_ahead() {
        let items: Vec<usize> = (0..200).collect();
        let most_waiting = AtomicUsize::new(0);
        let to_take = AtomicUsize::new(0);
        map_on(
            true,
            &items,
            |&i| {
                let ahead = i.saturating_sub(to_take.load(Ordering::SeqCst));
                most_waiting.fetch_max(ahead, Ordering::SeqCst);
                i
            },
            |r| {
                // A slow taker: the helper would run away without its limit.
                std::thread::sleep(std::time::Duration::from_micros(200));
                to_take.store(r + 1, Ordering::SeqCst);
                true
            },
        );
        assert!(most_waiting.load(Ordering::SeqCst) <= AHEAD + 2);
    }

    #[test]
    fn a_panic_on_either_thread_reaches_the_caller_instead_of_a_hang() {
        let items: Vec<usize> = (0..100).collect();
        let caller = std::thread::current().id();
        for panics_on_caller in [false, true] {
            let helper_started = std::sync::atomic::AtomicBool::new(false);
            let caught = std::panic::catch_unwind(|| {
                map_on(
                    true,
                    &items,
                    |_| {
                        let on_caller = std::thread::current().id() == caller;
                        if on_caller {
                            // Both threads are at work before either panics.
                            while !helper_started.load(Ordering::SeqCst) {
                                std::thread::yield_now();
                            }
                        } else {
                            helper_started.store(true, Ordering::SeqCst);
                        }
                        assert!(on_caller != panics_on_caller, "work failed");
                    },
                    |()| true,
                )
            });
            assert!(caught.is_err(), "panics on the caller: {panics_on_caller}");
        }
        // A panic in the caller's `take` while the helper may wait for room.
        let caught = std::panic::catch_unwind(|| {
            map_on(
                true,
                &items,
                |&i| i,
                |i| {
                    assert!(i != 1, "taken 1");
                    true
                },
            )
        });
        assert!(caught.is_err());
    }

    #[test]
    fn unordered_gives_every_result_once() {
        for len in [0, 1, UNORDERED_FROM - 1, UNORDERED_FROM, 5000] {
            let mut results = map_unordered(0..len, |i| i * 3);
            results.sort_unstable();
            assert_eq!(results, (0..len).map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_panic_in_unordered_work_reaches_the_caller() {
        let caught =
            std::panic::catch_unwind(|| map_unordered(0..1000, |i| assert!(i != 700, "item 700")));
        assert!(caught.is_err());
    }
}
