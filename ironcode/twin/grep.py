"""Twin of native/tool/src/grep.rs — to be built under issue 4."""
