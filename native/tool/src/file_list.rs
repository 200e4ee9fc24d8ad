//! `file_list` — to be built under issue 4.
