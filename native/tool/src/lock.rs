//! `lock` — to be built under issue 10.
