//! Parsing a command line with tree-sitter-bash, around two faults of the libraries (issue 23).
//! Twin: `ironcode/twin/shell_parse.py`, which does the same around py-tree-sitter.
//!
//! - **A crash in the grammar's scanner.** tree-sitter-bash 0.25.1's external scanner, looking
//!   for a brace range (`{1..3}`), calls C's `isdigit()` on the character after a `{` — a full
//!   code point. glibc's `isdigit` is a lookup in a 384-entry table (-128..255), so a code point
//!   of U+0100 or more reads up to 2.2 MB past it: `{` followed by U+D8176 segfaults the process
//!   whenever that address is unmapped (it depends on the layout ASLR picks — about every other
//!   run), and otherwise reads garbage. Upstream: tree-sitter-bash issue #337, fix #348 not
//!   released. When a command line holds a `{` and a code point past U+00FF, the parse runs with
//!   the thread's ctype table pointer swapped for a copy extended to every code point (zeros
//!   past 255, so `isdigit` says what `iswdigit` would: not a digit), and restored after. It is
//!   the same pointer `uselocale` sets; only glibc has the table (musl's `isdigit` compares).
//! - **A slow path of the runtime.** A pipeline of three or more commands at the very end of the
//!   input parses in ~100 µs instead of ~3 µs: the grammar's pipeline conflict leaves a second
//!   stack version that dies at the end of input in the same step the first is accepted, and
//!   tree-sitter then runs full error recovery on it (every token of the grammar tried) before
//!   it looks at the accepted tree and throws that work away. With a newline after the command
//!   line the doomed version dies one token earlier, while the other is still alive, and is just
//!   dropped. So a command line with a `|` is parsed with a `\n` appended; that tree is used
//!   when it has no error and the newline lies outside every node (it only ended the last
//!   statement), else the command line is parsed again as given. A newline is what bash sees at
//!   the end of a script, so both trees describe the same commands (checked on generated command
//!   lines: `test/test_shell_parse.py`). Measured (py-tree-sitter, µs, plain / with the newline):
//!   `a | b | c` 111 / 3.4, `! a | b | c` 169 / 3.8, `time a | b | c` 253 / 4.3, `{ a; b; } | c |
//!   d` 172 / 4.9; lists, loops, heredocs and assignments without a `|` cost the same either way.

use std::cell::RefCell;

use tree_sitter::{Parser, Tree};

thread_local! {
    /// One parser per thread: building one costs more than parsing a short command.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// The syntax tree of `source`, or None if tree-sitter gives none. Nodes never reach past
/// `source` (the appended newline is in no node but the root).
pub fn parse_tree(source: &[u8]) -> Option<Tree> {
    PARSER.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&tree_sitter_bash::LANGUAGE.into())
                .ok()?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut()?;
        if needs_wide_ctype(source) {
            ctype::with_wide_table(|| terminated_parse(parser, source))
        } else {
            terminated_parse(parser, source)
        }
    })
}

/// True if the scanner could call `isdigit` on a code point past U+00FF: there is a `{`, and a
/// UTF-8 lead byte of U+0100 or more (0xC4..).
pub fn needs_wide_ctype(source: &[u8]) -> bool {
    memchr::memchr(b'{', source).is_some() && source.iter().any(|&b| b >= 0xC4)
}

/// `source` parsed with a newline after it when that tree is clean and the newline only ends the
/// last statement; else `source` parsed as given (see the module docs). Only a command line with
/// a `|` is tried so (every slow case measured had a pipeline), so input without one — such as
/// the unbalanced input whose error recovery is quadratic — is never parsed twice.
fn terminated_parse(parser: &mut Parser, source: &[u8]) -> Option<Tree> {
    if may_end_in_a_pipeline(source) {
        let mut terminated = Vec::with_capacity(source.len() + 1);
        terminated.extend_from_slice(source);
        terminated.push(b'\n');
        parser.reset();
        if let Some(tree) = parser.parse(&terminated, None)
            && newline_only_terminates(&tree, source.len())
        {
            return Some(tree);
        }
    }
    parser.reset();
    parser.parse(source, None)
}

/// True if `source` has a `|` and the appended newline could only end a statement: it does not
/// end in a newline already, nor in a backslash (which would make the newline a continuation).
pub fn may_end_in_a_pipeline(source: &[u8]) -> bool {
    memchr::memchr(b'|', source).is_some() && !source.ends_with(b"\n") && !source.ends_with(b"\\")
}

/// True if `tree` (of a source whose byte `at` is the appended newline) has no error and no
/// node but the root covers that newline.
fn newline_only_terminates(tree: &Tree, at: usize) -> bool {
    let root = tree.root_node();
    !root.has_error()
        && root
            .descendant_for_byte_range(at, at + 1)
            .is_some_and(|node| node.id() == root.id())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod ctype {
    use std::cell::RefCell;

    unsafe extern "C" {
        /// glibc: the address of this thread's pointer to the ctype class table, indexed by a
        /// character from -128 to 255 (what the `isdigit` macro reads).
        fn __ctype_b_loc() -> *mut *const u16;
    }

    /// Entries below 0 in glibc's table.
    const NEGATIVE: usize = 128;
    /// Entries glibc's table has (-128..=255).
    const GLIBC_ENTRIES: usize = NEGATIVE + 256;
    /// Entries of the extended table: -128 up to the last code point, U+10FFFF.
    const ENTRIES: usize = NEGATIVE + 0x11_0000;

    thread_local! {
        /// Zero-initialised (calloc: pages past the first stay unmapped until read, and reads
        /// of untouched pages cost no memory), so only the copied first page is resident.
        static TABLE: RefCell<Option<Box<[u16]>>> = const { RefCell::new(None) };
    }

    /// Puts the thread's pointer back when dropped, also if `f` panics.
    struct Restore {
        slot: *mut *const u16,
        previous: *const u16,
    }

    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: `slot` is this thread's table pointer and `previous` the value it held.
            unsafe { *self.slot = self.previous };
        }
    }

    /// Runs `f` with this thread's ctype table extended to every code point.
    pub fn with_wide_table<R>(f: impl FnOnce() -> R) -> R {
        TABLE.with(|cell| {
            let mut cell = cell.borrow_mut();
            let table = cell.get_or_insert_with(|| vec![0u16; ENTRIES].into_boxed_slice());
            // SAFETY: `__ctype_b_loc` returns this thread's slot, which points at entry 0 of a
            // table with valid entries -128..=255 (glibc's layout, what `isdigit` relies on).
            // The slot holds our table only while `f` runs on this thread, and `table` lives
            // in this thread's storage for longer than that.
            unsafe {
                let slot = __ctype_b_loc();
                let previous = *slot;
                let glibc = std::slice::from_raw_parts(previous.sub(NEGATIVE), GLIBC_ENTRIES);
                table[..GLIBC_ENTRIES].copy_from_slice(glibc);
                *slot = table.as_ptr().add(NEGATIVE);
                let _restore = Restore { slot, previous };
                f()
            }
        })
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod ctype {
    /// Elsewhere `isdigit` does not read a table past its end (musl compares), so nothing to do.
    pub fn with_wide_table<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brace_before_a_high_code_point_parses_every_time() {
        // Crashed about every other process before the table was widened (issue 23).
        let source = "{\u{d8176}".as_bytes();
        assert!(needs_wide_ctype(source));
        for _ in 0..20_000 {
            assert!(parse_tree(source).is_some());
        }
    }

    #[test]
    fn the_table_pointer_is_restored_after_the_parse() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            unsafe extern "C" {
                fn __ctype_b_loc() -> *mut *const u16;
            }
            let before = unsafe { *__ctype_b_loc() };
            parse_tree("echo {日..本}".as_bytes());
            assert_eq!(unsafe { *__ctype_b_loc() }, before);
        }
    }

    #[test]
    fn a_trailing_pipeline_gives_the_same_tree_with_or_without_the_newline() {
        for source in [
            "a | b | c",
            "cat f | grep 'p' | sort | uniq",
            "x && y | z | w # c",
        ] {
            let mut parser = Parser::new();
            parser
                .set_language(&tree_sitter_bash::LANGUAGE.into())
                .unwrap();
            let plain = parser.parse(source, None).unwrap();
            let tree = parse_tree(source.as_bytes()).unwrap();
            assert!(newline_only_terminates(&tree, source.len()), "{source}");
            assert_eq!(
                tree.root_node().child(0).unwrap().to_sexp(),
                plain.root_node().child(0).unwrap().to_sexp()
            );
        }
    }

    #[test]
    fn an_unterminated_quote_or_a_pipe_free_line_is_parsed_as_given() {
        let tree = parse_tree(b"echo 'abc | x").unwrap();
        assert_eq!(tree.root_node().end_byte(), 13);
        assert!(!may_end_in_a_pipeline(b"a && b"));
        assert!(!may_end_in_a_pipeline(b"a | b\\"));
        assert!(may_end_in_a_pipeline(b"a | b"));
    }
}
