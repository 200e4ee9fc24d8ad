"""Twin of native/tool/src/walk.rs — to be built under issue 4."""
