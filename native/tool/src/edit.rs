//! `edit` — to be built under issue 3.
