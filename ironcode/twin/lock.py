"""Twin of native/tool/src/lock.rs — to be built under issue 10."""
