"""Twin of native/tool/src/watcher.rs — to be built under issue 9."""
