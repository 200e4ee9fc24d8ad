//! `vcs` — to be built under issue 5.
