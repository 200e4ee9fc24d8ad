//! The stateless exports: files, edit, search, git, shell, system and the boundary probes.

use std::ptr;

use ironcode_tool as lib;
use serde_json::Value;

use crate::{Driver, Fixture, INVALID_TEXT, Reply, c, cpath, invalid_c};

// ---- files -----------------------------------------------------------------------------------

/// read, write, ls: good calls, a missing path, a folder, NULL and invalid UTF-8.
pub fn files(d: &mut Driver, fx: &Fixture) {
    let content = b"payload\0with nul";
    call!(d, read_ffi(fx.file.as_ptr(), 1, 2000, ptr::null())).ok("read");
    call!(d, read_ffi(fx.file.as_ptr(), 999_999, 10, ptr::null()))
        .error("read past end", "invalid_argument");
    call!(d, read_ffi(fx.missing.as_ptr(), 1, 10, ptr::null())).error("read missing", "not_found");
    call!(d, read_ffi(fx.tree.as_ptr(), 1, 10, ptr::null())).error("read folder", "is_directory");
    call!(d, read_ffi(ptr::null(), 1, 10, ptr::null())).error("read NULL", "invalid_argument");
    call!(d, read_ffi(invalid_c(), 1, 10, ptr::null())).error("read bad UTF-8", "invalid_argument");
    call!(
        d,
        write_ffi(
            fx.written.as_ptr(),
            content.as_ptr(),
            content.len(),
            ptr::null()
        )
    )
    .ok("write");
    call!(
        d,
        write_ffi(fx.written.as_ptr(), ptr::null(), 5, ptr::null())
    )
    .error("write NULL", "invalid_argument");
    call!(d, write_ffi(ptr::null(), content.as_ptr(), 3, ptr::null()))
        .error("write NULL path", "invalid_argument");
    call!(
        d,
        ls_ffi(fx.tree.as_ptr(), c("[\"*.log\"]").as_ptr(), -1, ptr::null())
    )
    .ok("ls");
    call!(
        d,
        ls_ffi(fx.tree.as_ptr(), c("[not json").as_ptr(), 10, ptr::null())
    )
    .error("ls json", "invalid_argument");
    call!(
        d,
        ls_ffi(fx.missing.as_ptr(), c("[]").as_ptr(), 10, ptr::null())
    )
    .error("ls missing", "not_found");
    call!(d, ls_ffi(invalid_c(), c("[]").as_ptr(), 10, ptr::null()))
        .error("ls bad UTF-8", "invalid_argument");
    confined(d, fx);
}

/// The file and search exports confined to a root, by `openat2` and by the walk.
fn confined(d: &mut Driver, fx: &Fixture) {
    confined_calls(d, fx);
    #[cfg(feature = "test-exports")]
    {
        call!(d, confine_force_walk_ffi(1)).ok("force the walk");
        confined_calls(d, fx);
        call!(d, confine_force_walk_ffi(0)).ok("openat2 again");
    }
}

/// Inside, outside, and a bad root.
fn confined_calls(d: &mut Driver, fx: &Fixture) {
    let root = fx.confined.as_ptr();
    let content = b"confined";
    call!(d, read_ffi(c("file.txt").as_ptr(), 1, 10, root)).ok("read beneath");
    call!(d, read_ffi(c("../x").as_ptr(), 1, 10, root)).error("read above", "outside_root");
    call!(
        d,
        read_ffi(c("file.txt").as_ptr(), 1, 10, fx.missing.as_ptr())
    )
    .error("read bad root", "not_found");
    call!(d, read_ffi(c("file.txt").as_ptr(), 1, 10, invalid_c()))
        .error("read root UTF-8", "invalid_argument");
    call!(
        d,
        write_ffi(
            c("tree/new/w.txt").as_ptr(),
            content.as_ptr(),
            content.len(),
            root
        )
    )
    .ok("write beneath");
    call!(
        d,
        write_ffi(c("/etc/x").as_ptr(), content.as_ptr(), content.len(), root)
    )
    .error("write outside", "outside_root");
    call!(d, ls_ffi(c("tree").as_ptr(), c("[]").as_ptr(), -1, root)).ok("ls beneath");
    let (old, new) = (b"confined", b"beneath");
    call!(
        d,
        edit_file_ffi(
            c("tree/new/w.txt").as_ptr(),
            old.as_ptr(),
            old.len(),
            new.as_ptr(),
            new.len(),
            0,
            root
        )
    )
    .ok("edit_file beneath");
    call!(
        d,
        file_list_ffi(c("tree").as_ptr(), c("[]").as_ptr(), 1, 1, -1, root)
    )
    .ok("file_list beneath");
    call!(d, glob_ffi(c("*").as_ptr(), c(".").as_ptr(), -1, root)).ok("glob beneath");
    // grep takes its root in the options object.
    let beneath = serde_json::json!({"root": fx.root, "output_mode": "count"}).to_string();
    let beneath = c(&beneath);
    call!(
        d,
        grep_ffi(c("TODO").as_ptr(), c("tree").as_ptr(), beneath.as_ptr())
    )
    .ok("grep beneath");
    call!(
        d,
        grep_ffi(c("x").as_ptr(), c("..").as_ptr(), beneath.as_ptr())
    )
    .error("grep above", "outside_root");
}

// ---- edit ------------------------------------------------------------------------------------

const EDIT_STRATEGIES: [&str; 9] = [
    "simple",
    "line_trimmed",
    "block_anchor",
    "whitespace_normalized",
    "indentation_flexible",
    "escape_normalized",
    "trimmed_boundary",
    "context_aware",
    "multi_occurrence",
];

fn replace(d: &mut Driver, content: &[u8], old: &[u8], new: &[u8], all: i64) -> Reply {
    let (cp, cl) = (content.as_ptr(), content.len());
    call!(
        d,
        edit_replace_ffi(
            cp,
            cl,
            old.as_ptr(),
            old.len(),
            new.as_ptr(),
            new.len(),
            all
        )
    )
}

/// edit_replace (exact, fuzzy, every error kind), every edit_candidates strategy,
/// levenshtein, and edit_file forth and back so the file is the same every round.
pub fn edit(d: &mut Driver, fx: &Fixture, round: usize) {
    let content =
        format!("fn main() {{\n    let x = {round};\n    println!(\"{{x}}\");\n}}\n\0tail\n");
    let content = content.as_bytes();
    replace(d, content, b"let x", b"let y", 0).ok("edit_replace exact");
    let indented = format!("fn main() {{\n  let x = {round};");
    replace(d, content, indented.as_bytes(), b"fn main() {\n", 0).ok("edit_replace fuzzy");
    replace(d, content, b"x", b"y", 1).ok("edit_replace all");
    replace(d, content, b"x", b"y", 0).error("ambiguous", "multiple_matches");
    replace(d, content, b"absent text", b"y", 0).error("no match", "no_match");
    replace(d, content, b"x", b"x", 0).error("same", "same_strings");
    replace(d, content, b"", b"y", 0).error("empty old", "empty_old_string");
    replace(d, INVALID_TEXT, b"x", b"y", 0).error("bad UTF-8", "invalid_argument");
    let null = call!(
        d,
        edit_replace_ffi(ptr::null(), 4, b"a".as_ptr(), 1, b"b".as_ptr(), 1, 0)
    );
    null.error("edit_replace NULL", "invalid_argument");

    let find = b"  let x = 0;\n  println!";
    for strategy in EDIT_STRATEGIES {
        let s = c(strategy);
        let (cp, cl) = (content.as_ptr(), content.len());
        call!(
            d,
            edit_candidates_ffi(s.as_ptr(), cp, cl, find.as_ptr(), find.len())
        )
        .ok(strategy);
    }
    let (cp, cl) = (content.as_ptr(), content.len());
    call!(
        d,
        edit_candidates_ffi(c("nope").as_ptr(), cp, cl, b"x".as_ptr(), 1)
    )
    .error("unknown strategy", "invalid_argument");
    call!(
        d,
        edit_candidates_ffi(ptr::null(), cp, cl, b"x".as_ptr(), 1)
    )
    .error("NULL strategy", "invalid_argument");
    call!(
        d,
        edit_candidates_ffi(c("simple").as_ptr(), cp, cl, ptr::null(), 0)
    )
    .error("empty find", "empty_old_string");

    let (a, b) = ("kitten sitting ".repeat(8), "sitting kitten ".repeat(8));
    call!(d, levenshtein_ffi(a.as_ptr(), a.len(), b.as_ptr(), b.len())).ok("levenshtein");
    call!(
        d,
        levenshtein_ffi(INVALID_TEXT.as_ptr(), INVALID_TEXT.len(), b.as_ptr(), 1)
    )
    .error("levenshtein UTF-8", "invalid_argument");
    call!(d, levenshtein_ffi(ptr::null(), 3, b.as_ptr(), 1))
        .error("levenshtein NULL", "invalid_argument");

    // Forth and back, so the file is the same at the start of every round.
    let (alpha, beta) = (b"let alpha", b"let beta");
    let path = fx.edited.as_ptr();
    call!(
        d,
        edit_file_ffi(
            path,
            alpha.as_ptr(),
            alpha.len(),
            beta.as_ptr(),
            beta.len(),
            1,
            ptr::null()
        )
    )
    .ok("edit_file");
    call!(
        d,
        edit_file_ffi(
            path,
            beta.as_ptr(),
            beta.len(),
            alpha.as_ptr(),
            alpha.len(),
            1,
            ptr::null()
        )
    )
    .ok("edit_file back");
    call!(
        d,
        edit_file_ffi(
            path,
            beta.as_ptr(),
            beta.len(),
            alpha.as_ptr(),
            alpha.len(),
            0,
            ptr::null()
        )
    )
    .error("edit_file no match", "no_match");
    let missing = fx.missing.as_ptr();
    call!(
        d,
        edit_file_ffi(
            missing,
            alpha.as_ptr(),
            alpha.len(),
            beta.as_ptr(),
            beta.len(),
            0,
            ptr::null()
        )
    )
    .error("edit_file missing", "not_found");
    call!(
        d,
        edit_file_ffi(
            ptr::null(),
            alpha.as_ptr(),
            1,
            beta.as_ptr(),
            1,
            0,
            ptr::null()
        )
    )
    .error("edit_file NULL", "invalid_argument");
    let bad = INVALID_TEXT;
    call!(
        d,
        edit_file_ffi(
            path,
            bad.as_ptr(),
            bad.len(),
            beta.as_ptr(),
            beta.len(),
            0,
            ptr::null()
        )
    )
    .error("edit_file UTF-8", "invalid_argument");
}

// ---- patch -----------------------------------------------------------------------------------

/// apply_patch: add, update (a CRLF patch), dry run and delete of one scratch file, so every
/// round starts alike; then every error path (grammar, no match, invalid UTF-8, NULL, bad cwd).
pub fn patch(d: &mut Driver, fx: &Fixture, round: usize) {
    let cwd = cpath(&fx.scratch);
    let run = |d: &mut Driver, text: &[u8], dry: i64| {
        call!(
            d,
            apply_patch_ffi(text.as_ptr(), text.len(), cwd.as_ptr(), dry, ptr::null())
        )
    };
    let add = format!(
        "*** Begin Patch\n*** Add File: patched/p.txt\n+round {round}\n*** Add File: patched/n.bin\n+nul\0\n*** End Patch\n"
    );
    run(d, add.as_bytes(), 0).ok("apply_patch add");
    let update = format!(
        "*** Begin Patch\r\n*** Update File: patched/p.txt\r\n@@\r\n-round {round}\r\n+changed\r\n*** End Patch"
    );
    run(d, update.as_bytes(), 1).ok("apply_patch dry run");
    run(d, update.as_bytes(), 0).ok("apply_patch update");
    let delete = b"<<'EOF'\n*** Begin Patch\n*** Delete File: patched/p.txt\n*** Delete File: patched/n.bin\n*** End Patch\nEOF\n";
    run(d, delete, 0).ok("apply_patch delete");
    run(d, b"", 0).error("apply_patch empty", "invalid_patch");
    run(
        d,
        b"*** Begin Patch\n*** Update File: patched\n-x\n*** End Patch",
        0,
    )
    .error("apply_patch folder", "is_directory");
    run(d, update.as_bytes(), 0).error("apply_patch missing", "not_found");
    run(d, INVALID_TEXT, 0).error("apply_patch UTF-8", "invalid_patch");
    call!(
        d,
        apply_patch_ffi(ptr::null(), 3, cwd.as_ptr(), 0, ptr::null())
    )
    .error("apply_patch NULL", "invalid_argument");
    call!(
        d,
        apply_patch_ffi(add.as_ptr(), add.len(), ptr::null(), 0, ptr::null())
    )
    .error("apply_patch NULL cwd", "invalid_argument");
    call!(
        d,
        apply_patch_ffi(add.as_ptr(), add.len(), fx.missing.as_ptr(), 0, ptr::null())
    )
    .error("apply_patch cwd", "not_found");
    let mismatch = b"*** Begin Patch\n*** Add File: patched/q.txt\n+q\n*** Update File: patched/q.txt\n-nothing\n+x\n*** End Patch";
    run(d, mismatch, 0).error("apply_patch no match", "patch_failed");
    // Confined to the fixture root, with cwd taken from it.
    let (root, scratch) = (fx.confined.as_ptr(), c("scratch"));
    let beneath = |d: &mut Driver, text: &[u8]| {
        call!(
            d,
            apply_patch_ffi(text.as_ptr(), text.len(), scratch.as_ptr(), 0, root)
        )
    };
    beneath(d, add.as_bytes()).ok("apply_patch add beneath");
    beneath(d, delete).ok("apply_patch delete beneath");
    beneath(
        d,
        b"*** Begin Patch\n*** Add File: ../../x\n+x\n*** End Patch",
    )
    .error("apply_patch above the root", "outside_root");
}

// ---- search ----------------------------------------------------------------------------------

/// file_list, glob, grep: good calls, bad JSON, bad patterns, missing paths, NULL.
pub fn search(d: &mut Driver, fx: &Fixture) {
    let tree = fx.tree.as_ptr();
    let globs = c("[\"*.rs\", \"!*.log\"]");
    call!(
        d,
        file_list_ffi(tree, globs.as_ptr(), 1, 0, -1, ptr::null())
    )
    .ok("file_list");
    call!(
        d,
        file_list_ffi(tree, c("[]").as_ptr(), 0, 1, 1, ptr::null())
    )
    .ok("file_list depth");
    call!(
        d,
        file_list_ffi(tree, c("{").as_ptr(), 1, 0, -1, ptr::null())
    )
    .error("globs", "invalid_argument");
    call!(
        d,
        file_list_ffi(tree, c("[\"a[\"]").as_ptr(), 1, 0, -1, ptr::null())
    )
    .error("bad glob", "invalid_pattern");
    call!(
        d,
        file_list_ffi(fx.missing.as_ptr(), c("[]").as_ptr(), 1, 0, -1, ptr::null())
    )
    .error("file_list missing", "not_found");
    call!(
        d,
        file_list_ffi(ptr::null(), c("[]").as_ptr(), 1, 0, -1, ptr::null())
    )
    .error("file_list NULL", "invalid_argument");

    call!(d, glob_ffi(c("**/*.rs").as_ptr(), tree, 100, ptr::null())).ok("glob");
    call!(d, glob_ffi(c("*").as_ptr(), tree, -1, ptr::null())).ok("glob unlimited");
    call!(d, glob_ffi(c("a[").as_ptr(), tree, 10, ptr::null()))
        .error("glob pattern", "invalid_pattern");
    call!(
        d,
        glob_ffi(c("*").as_ptr(), fx.missing.as_ptr(), 10, ptr::null())
    )
    .error("glob path", "not_found");
    call!(d, glob_ffi(invalid_c(), tree, 10, ptr::null())).error("glob UTF-8", "invalid_argument");

    let options = |json: &str| c(json);
    call!(
        d,
        grep_ffi(c("TODO").as_ptr(), tree, options("{}").as_ptr())
    )
    .ok("grep");
    call!(
        d,
        grep_ffi(
            c("todo").as_ptr(),
            tree,
            options(r#"{"include": "*.rs", "ignore_case": true}"#).as_ptr()
        )
    )
    .ok("grep include");
    for mode in [
        r#"{"output_mode": "files"}"#,
        r#"{"output_mode": "count", "multiline": true}"#,
        r#"{"context": 2, "max_line_chars": 10, "file_type": "rust"}"#,
    ] {
        call!(d, grep_ffi(c("fn").as_ptr(), tree, options(mode).as_ptr())).ok("grep modes");
    }
    call!(d, grep_ffi(c("(").as_ptr(), tree, options("{}").as_ptr()))
        .error("regex", "invalid_pattern");
    call!(
        d,
        grep_ffi(c("x").as_ptr(), fx.missing.as_ptr(), options("{}").as_ptr())
    )
    .error("grep missing", "not_found");
    call!(
        d,
        grep_ffi(
            c("x").as_ptr(),
            tree,
            options(r#"{"file_type": "nope"}"#).as_ptr()
        )
    )
    .error("grep type", "invalid_argument");
    call!(d, grep_ffi(c("x").as_ptr(), tree, invalid_c()))
        .error("grep options UTF-8", "invalid_argument");
    call!(d, grep_ffi(ptr::null(), tree, options("{}").as_ptr()))
        .error("grep NULL", "invalid_argument");
    call!(d, grep_types_ffi()).ok("grep types");
}

// ---- git -------------------------------------------------------------------------------------

/// vcs_info and git_status on every engine, git_diff, git_branches, and a stage / unstage /
/// commit cycle on a real repository, with bad engines, paths, JSON and messages.
pub fn git(d: &mut Driver, fx: &Fixture, round: usize) {
    let repo = fx.repo.as_ptr();
    let root = fx.root.join("repo");
    std::fs::write(root.join("tracked.txt"), format!("one\nround {round}\n")).expect("write");
    std::fs::write(root.join("new.txt"), format!("new {round}\n")).expect("write");
    for engine in ["auto", "library", "git"] {
        let engine = c(engine);
        call!(d, vcs_info_ffi(repo, engine.as_ptr())).ok("vcs_info");
        call!(d, git_status_ffi(repo, engine.as_ptr())).ok("git_status");
    }
    call!(d, vcs_info_ffi(repo, c("svn").as_ptr())).error("engine", "invalid_argument");
    call!(d, git_status_ffi(repo, ptr::null())).error("status NULL", "invalid_argument");
    call!(d, git_status_ffi(fx.missing.as_ptr(), c("auto").as_ptr())).error("status", "not_found");
    call!(d, vcs_info_ffi(invalid_c(), c("auto").as_ptr())).error("info UTF-8", "invalid_argument");

    call!(d, git_diff_ffi(repo, ptr::null(), 0)).ok("git_diff");
    call!(d, git_diff_ffi(repo, c("tracked.txt").as_ptr(), 0)).ok("git_diff file");
    call!(d, git_diff_ffi(repo, invalid_c(), 0)).error("diff file UTF-8", "invalid_argument");
    call!(d, git_diff_ffi(fx.missing.as_ptr(), ptr::null(), 1)).error("diff", "not_found");
    call!(d, git_branches_ffi(repo)).ok("git_branches");
    call!(d, git_branches_ffi(ptr::null())).error("branches NULL", "invalid_argument");

    let both = c("[\"tracked.txt\", \"new.txt\"]");
    call!(d, git_stage_ffi(repo, both.as_ptr())).ok("git_stage");
    call!(d, git_diff_ffi(repo, ptr::null(), 1)).ok("git_diff staged");
    call!(d, git_unstage_ffi(repo, c("[\"new.txt\"]").as_ptr())).ok("git_unstage");
    call!(d, git_stage_ffi(repo, c("[\"../outside\"]").as_ptr()))
        .error("stage outside", "invalid_argument");
    call!(d, git_stage_ffi(repo, c("\"tracked.txt\"").as_ptr())).error("json", "invalid_argument");
    call!(d, git_unstage_ffi(repo, c("[1]").as_ptr())).error("json", "invalid_argument");
    let message = format!("round {round}");
    call!(d, git_commit_ffi(repo, message.as_ptr(), message.len())).ok("git_commit");
    let nul = b"with\0nul";
    call!(d, git_commit_ffi(repo, nul.as_ptr(), nul.len())).error("commit NUL", "invalid_argument");
    call!(d, git_commit_ffi(repo, ptr::null(), 2)).error("commit NULL", "invalid_argument");
    // new.txt stays untracked: staged again by the next round, then left unstaged again.
    #[cfg(feature = "test-exports")]
    {
        // Every other round drops the kept repositories, so both a fresh open and a kept one
        // are checked for leaks.
        call!(d, vcs_cache_ffi(i64::from(round.is_multiple_of(2)))).ok("vcs_cache");
    }
}

// ---- shell -----------------------------------------------------------------------------------

/// parse_bash (including NUL and unterminated quotes) and command_prefix.
pub fn shell(d: &mut Driver, fx: &Fixture) {
    let cwd = fx.tree.as_ptr();
    let commands: [&[u8]; 5] = [
        b"cd sub && rm -rf ../b.log; echo $(git status) | grep -v x > out.txt",
        b"for f in *.rs; do cat \"$f\"; done 2>/dev/null &",
        b"echo 'unterminated",
        b"printf 'a\0b'",
        b"",
    ];
    for command in commands {
        call!(d, parse_bash_ffi(command.as_ptr(), command.len(), cwd)).ok("parse_bash");
    }
    call!(
        d,
        parse_bash_ffi(INVALID_TEXT.as_ptr(), INVALID_TEXT.len(), cwd)
    )
    .error("parse_bash UTF-8", "invalid_argument");
    call!(d, parse_bash_ffi(b"ls".as_ptr(), 2, ptr::null())).error("cwd NULL", "invalid_argument");
    call!(d, parse_bash_ffi(ptr::null(), 2, cwd)).error("command NULL", "invalid_argument");

    call!(
        d,
        command_prefix_ffi(c("[\"git\", \"commit\", \"-m\", \"x\"]").as_ptr())
    )
    .ok("command_prefix");
    call!(d, command_prefix_ffi(c("[]").as_ptr())).ok("command_prefix empty");
    call!(d, command_prefix_ffi(c("{\"a\": 1}").as_ptr())).error("tokens", "invalid_argument");
    call!(d, command_prefix_ffi(ptr::null())).error("tokens NULL", "invalid_argument");
}

// ---- system and the boundary itself ------------------------------------------------------------

/// stats, extract (tar and zip, corrupt, missing), the probes and the deliberate panic.
pub fn system(d: &mut Driver, fx: &Fixture, round: usize) {
    call!(d, stats_ffi()).ok("stats");
    for archive in [&fx.tar, &fx.zip] {
        let dest = fx.scratch.join(format!("out{round}"));
        let dest_c = cpath(&dest);
        call!(d, extract_ffi(archive.as_ptr(), dest_c.as_ptr())).ok("extract");
        let _ = std::fs::remove_dir_all(&dest);
    }
    let dest = cpath(&fx.scratch.join("never"));
    call!(d, extract_ffi(fx.missing.as_ptr(), dest.as_ptr())).error("archive", "not_found");
    call!(d, extract_ffi(fx.bad_archive.as_ptr(), dest.as_ptr())).error("corrupt", "io");
    call!(d, extract_ffi(fx.zip.as_ptr(), fx.file.as_ptr())).error("dest", "not_a_directory");
    call!(d, extract_ffi(ptr::null(), dest.as_ptr())).error("NULL", "invalid_argument");

    call!(d, probe_noop_ffi()).ok("noop");
    call!(d, probe_ints_ffi(i64::MAX, 1)).ok("ints");
    call!(d, probe_echo_ffi(c(&"x".repeat(round % 4096)).as_ptr())).ok("echo");
    call!(d, probe_echo_ffi(invalid_c())).error("echo UTF-8", "invalid_argument");
    let met = call!(d, probe_barrier_ffi(1, 1000)).ok("barrier");
    assert_eq!(met, Value::Bool(true), "one party meets itself");
    let met = call!(d, probe_barrier_ffi(2, 0)).ok("barrier alone");
    assert_eq!(
        met,
        Value::Bool(false),
        "two parties never meet in one thread"
    );
    #[cfg(feature = "test-exports")]
    {
        call!(d, debug_panic_ffi(c("leakcheck panic").as_ptr())).error("panic", "panic");
        call!(d, debug_panic_ffi(c("").as_ptr())).ok("no panic");
    }
}
