//! `terminal` — to be built under issue 7.
