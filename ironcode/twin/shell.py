"""Twin of native/tool/src/shell.rs — to be built under issue 6."""
