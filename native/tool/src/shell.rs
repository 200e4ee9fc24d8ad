//! `shell` — to be built under issue 6.
