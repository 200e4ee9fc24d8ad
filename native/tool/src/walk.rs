//! `walk` — to be built under issue 4.
