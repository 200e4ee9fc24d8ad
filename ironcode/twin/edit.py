"""Twin of native/tool/src/edit.rs — to be built under issue 3."""
