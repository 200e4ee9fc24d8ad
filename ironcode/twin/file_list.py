"""Twin of native/tool/src/file_list.rs — to be built under issue 4."""
