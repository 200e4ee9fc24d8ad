"""Twin of native/tool/src/fuzzy.rs — to be built under issue 8."""
