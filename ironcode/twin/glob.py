"""Twin of native/tool/src/glob.rs — to be built under issue 4."""
