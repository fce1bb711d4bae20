//! Locks that one panicking session cannot poison for every other.
//!
//! A std lock held by a thread that panics is "poisoned", and every later
//! `lock().unwrap()` panics too: one session's bug would take the whole
//! server's logins or limits with it. The state behind these locks is kept
//! consistent between statements (counters, maps, an `Arc` to swap), so
//! taking it as it is after a panic is safe.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Lock `m`, poisoned or not.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read `l`, poisoned or not.
pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write `l`, poisoned or not.
pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}
