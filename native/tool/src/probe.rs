//! Probes of the C boundary itself, for benchmarks and tests (no tool logic).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Callers inside [`barrier`] now, and how many rounds have completed.
static INSIDE: Mutex<(i64, u64)> = Mutex::new((0, 0));
static CHANGED: Condvar = Condvar::new();

/// Blocks until `parties` callers are inside at the same time; false after `timeout_ms`.
pub fn barrier(parties: i64, timeout_ms: i64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.max(0) as u64);
    let mut state = INSIDE.lock().unwrap_or_else(|p| p.into_inner());
    let round = state.1;
    state.0 += 1;
    if state.0 >= parties {
        state.0 = 0;
        state.1 += 1;
        CHANGED.notify_all();
        return true;
    }
    loop {
        let now = Instant::now();
        if now >= deadline {
            state.0 -= 1;
            return false;
        }
        let (next, _) = CHANGED
            .wait_timeout(state, deadline - now)
            .unwrap_or_else(|p| p.into_inner());
        state = next;
        if state.1 != round {
            return true;
        }
    }
}
