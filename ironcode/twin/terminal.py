"""Twin of native/tool/src/terminal.rs — to be built under issue 7."""
