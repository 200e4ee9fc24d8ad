//! `watcher` — to be built under issue 9.
