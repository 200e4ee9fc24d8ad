"""Twin of native/tool/src/vcs.rs — to be built under issue 5."""
