//! `fuzzy` — to be built under issue 8.
