//! The C ABI of ironcode's native tools: a flat list of `*_ffi` exports and `free_string`.
//!
//! Contract (ARCHITECTURE.md, "The C ABI contract"): arguments are NUL-terminated UTF-8 strings,
//! integers, or pointer + length for values that may hold NUL bytes; every export returns a
//! heap C string of JSON — `{"ok": value}` or `{"error": {"kind", "message"}}` — that the caller
//! frees exactly once with `free_string`. No panic crosses the boundary: [`ffi_fn!`] wraps every
//! body in the landing pad. Tool logic lives in the modules; an export only decodes, calls and
//! encodes.

use std::ffi::c_char;

pub mod archive;
pub mod confine;
pub mod edit;
pub mod error;
mod ffi_support;
pub mod file_list;
pub mod fuzzy;
pub mod glob;
pub mod grep;
pub mod lock;
pub mod ls;
pub mod patch;
pub mod paths;
mod probe;
pub mod read;
pub mod shell;
pub mod stats;
pub mod terminal;
pub mod vcs;
pub mod walk;
pub mod watcher;
pub mod write;

use ffi_support::{
    bytes_arg, json_arg, landingpad, opt_str_arg, opt_usize, out_buffer_arg, str_arg, text_arg,
};

/// Declares an export: `#[unsafe(no_mangle)] extern "C"`, the body run inside the landing pad.
/// The body may use `?` on `ToolResult`s and returns `ToolResult<impl Serialize>`.
macro_rules! ffi_fn {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// Pointer arguments must be NULL or valid for the call, as described in the crate docs.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> *mut c_char {
            #[allow(unused_unsafe)]
            landingpad(|| unsafe { $body })
        }
    };
}

/// Frees a string returned by any export. NULL is ignored.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by an export of this library, freed only once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_string(ptr: *mut c_char) {
    unsafe { ffi_support::free(ptr) }
}

// ---- files ---------------------------------------------------------------------------------

ffi_fn! {
    /// `read(path, offset, limit, root)` → `ReadResult`; `root` may be NULL (not confined).
    fn read_ffi(path: *const c_char, offset: i64, limit: i64, root: *const c_char) {
        let offset = usize::try_from(offset).unwrap_or(0);
        let limit = usize::try_from(limit).unwrap_or(0);
        let root = opt_str_arg(root, "root")?;
        read::read(str_arg(path, "path")?, offset, limit, root)
    }
}

ffi_fn! {
    /// `write(path, content, root)` → `WriteResult`; content is pointer + length (may hold NUL),
    /// `root` may be NULL.
    fn write_ffi(path: *const c_char, content: *const u8, content_len: usize, root: *const c_char) {
        let content = bytes_arg(content, content_len, "content")?;
        write::write(str_arg(path, "path")?, content, opt_str_arg(root, "root")?)
    }
}

ffi_fn! {
    /// `ls(path, ignore_json, limit, root)` → `LsResult`; `ignore_json` is a JSON list of globs,
    /// a negative `limit` means no limit, `root` may be NULL.
    fn ls_ffi(path: *const c_char, ignore_json: *const c_char, limit: i64, root: *const c_char) {
        let ignore: Vec<String> = json_arg(ignore_json, "ignore")?;
        ls::ls(str_arg(path, "path")?, &ignore, opt_usize(limit), opt_str_arg(root, "root")?)
    }
}

// ---- edit (issue 3) ---------------------------------------------------------

ffi_fn! {
    /// `edit_replace(content, old, new, replace_all)` → `Patch` in code-point offsets: the spans
    /// of `content` replaced by one text. Python applies it, so the edited file never crosses the
    /// boundary. Text arguments are pointer + length (they may hold NUL).
    fn edit_replace_ffi(
        content: *const u8,
        content_len: usize,
        old: *const u8,
        old_len: usize,
        new: *const u8,
        new_len: usize,
        replace_all: i64,
    ) {
        let content = ffi_support::text_arg(content, content_len, "content")?;
        let old = ffi_support::text_arg(old, old_len, "old")?;
        let new = ffi_support::text_arg(new, new_len, "new")?;
        edit::replace_patch(content, old, new, replace_all != 0)
            .map(|patch| patch.into_char_offsets(content))
    }
}

ffi_fn! {
    /// `edit_candidates(strategy, content, find)` → `[str]`.
    fn edit_candidates_ffi(
        strategy: *const c_char,
        content: *const u8,
        content_len: usize,
        find: *const u8,
        find_len: usize,
    ) {
        edit::edit_candidates(
            str_arg(strategy, "strategy")?,
            ffi_support::text_arg(content, content_len, "content")?,
            ffi_support::text_arg(find, find_len, "find")?,
        )
    }
}

ffi_fn! {
    /// `levenshtein(a, b)` → int (code points).
    fn levenshtein_ffi(a: *const u8, a_len: usize, b: *const u8, b_len: usize) {
        edit::levenshtein(
            ffi_support::text_arg(a, a_len, "a")?,
            ffi_support::text_arg(b, b_len, "b")?,
        )
    }
}

ffi_fn! {
    /// `edit_file(path, old, new, replace_all, root)` → `EditFileResult`; `root` may be NULL.
    fn edit_file_ffi(
        path: *const c_char,
        old: *const u8,
        old_len: usize,
        new: *const u8,
        new_len: usize,
        replace_all: i64,
        root: *const c_char,
    ) {
        edit::edit_file(
            str_arg(path, "path")?,
            ffi_support::text_arg(old, old_len, "old")?,
            ffi_support::text_arg(new, new_len, "new")?,
            replace_all != 0,
            opt_str_arg(root, "root")?,
        )
    }
}

// ---- patch (issue 17) -------------------------------------------------------

ffi_fn! {
    /// `apply_patch(patch, cwd, dry_run, root)` → `PatchResult`; the patch is pointer + length
    /// (it may hold NUL bytes; invalid UTF-8 is `invalid_patch`), `dry_run` is 0/1, `root` may be
    /// NULL.
    fn apply_patch_ffi(
        patch: *const u8,
        patch_len: usize,
        cwd: *const c_char,
        dry_run: i64,
        root: *const c_char,
    ) {
        let cwd = str_arg(cwd, "cwd")?;
        let root = opt_str_arg(root, "root")?;
        let patch = patch::decode_patch(bytes_arg(patch, patch_len, "patch")?)?;
        patch::apply_patch(patch, cwd, dry_run != 0, root)
    }
}

// ---- search (issue 4) -------------------------------------------------------

ffi_fn! {
    /// `file_list(path, globs_json, hidden, follow, max_depth, root)` → `[relative paths]`;
    /// `globs_json` is a JSON list of ripgrep globs, flags are 0/1, a negative `max_depth` means
    /// no limit, `root` may be NULL.
    fn file_list_ffi(
        path: *const c_char,
        globs_json: *const c_char,
        hidden: i64,
        follow: i64,
        max_depth: i64,
        root: *const c_char,
    ) {
        let globs: Vec<String> = json_arg(globs_json, "globs")?;
        let path = str_arg(path, "path")?;
        let root = opt_str_arg(root, "root")?;
        file_list::file_list(path, &globs, hidden != 0, follow != 0, opt_usize(max_depth), root)
    }
}

ffi_fn! {
    /// `glob(pattern, path, limit, root)` → `GlobResult`; a negative `limit` means no limit,
    /// `root` may be NULL.
    fn glob_ffi(pattern: *const c_char, path: *const c_char, limit: i64, root: *const c_char) {
        let pattern = str_arg(pattern, "pattern")?;
        let root = opt_str_arg(root, "root")?;
        glob::glob(pattern, str_arg(path, "path")?, opt_usize(limit), root)
    }
}

ffi_fn! {
    /// `grep(pattern, path, **options)` → `GrepAnswer` (its shape follows `output_mode`);
    /// `options_json` is a JSON object of `GrepOptions` (include, limit, ignore_case,
    /// output_mode, before, after, context, multiline, file_type, max_line_chars, root; each may
    /// be left out or null).
    fn grep_ffi(pattern: *const c_char, path: *const c_char, options_json: *const c_char) {
        let pattern = str_arg(pattern, "pattern")?;
        let path = str_arg(path, "path")?;
        let options: grep::GrepOptions = json_arg(options_json, "options")?;
        grep::grep_with(pattern, path, &options)
    }
}

ffi_fn! {
    /// `grep_types()` → `[{"name", "globs"}]`: the file types `grep`'s `file_type` knows (the
    /// `ignore` crate's built-in table), sorted.
    fn grep_types_ffi() {
        Ok(grep::types::type_table())
    }
}

// ---- git (issue 5) ----------------------------------------------------------

ffi_fn! {
    /// `vcs_info(path, engine)` → `VcsInfo`.
    fn vcs_info_ffi(path: *const c_char, engine: *const c_char) {
        vcs::vcs_info(str_arg(path, "path")?, str_arg(engine, "engine")?)
    }
}

ffi_fn! {
    /// `git_status(path, engine)` → `Status`.
    fn git_status_ffi(path: *const c_char, engine: *const c_char) {
        vcs::git_status(str_arg(path, "path")?, str_arg(engine, "engine")?)
    }
}

ffi_fn! {
    /// `git_diff(path, file, staged)` → patch text; `file` may be NULL (every file), `staged`
    /// is 0 or 1.
    fn git_diff_ffi(path: *const c_char, file: *const c_char, staged: i64) {
        vcs::git_diff(str_arg(path, "path")?, opt_str_arg(file, "file")?, staged != 0)
    }
}

ffi_fn! {
    /// `git_branches(path)` → `Branches`.
    fn git_branches_ffi(path: *const c_char) {
        vcs::git_branches(str_arg(path, "path")?)
    }
}

ffi_fn! {
    /// `git_stage(path, files_json)` → `Staged`; `files_json` is a JSON list of paths.
    fn git_stage_ffi(path: *const c_char, files_json: *const c_char) {
        let files: Vec<String> = json_arg(files_json, "files")?;
        vcs::git_stage(str_arg(path, "path")?, &files)
    }
}

ffi_fn! {
    /// `git_unstage(path, files_json)` → `Staged`; `files_json` is a JSON list of paths.
    fn git_unstage_ffi(path: *const c_char, files_json: *const c_char) {
        let files: Vec<String> = json_arg(files_json, "files")?;
        vcs::git_unstage(str_arg(path, "path")?, &files)
    }
}

ffi_fn! {
    /// `git_commit(path, message)` → short id; the message is pointer + length (may hold NUL,
    /// which is refused).
    fn git_commit_ffi(path: *const c_char, message: *const u8, message_len: usize) {
        vcs::git_commit(str_arg(path, "path")?, text_arg(message, message_len, "message")?)
    }
}

// ---- shell (issue 6) --------------------------------------------------------

ffi_fn! {
    /// `parse_bash(command, cwd)` → `BashParse`; the command is pointer + length (it may hold
    /// NUL bytes, which must reach the parser, not cut the command short).
    fn parse_bash_ffi(command: *const u8, command_len: usize, cwd: *const c_char) {
        let command = ffi_support::text_arg(command, command_len, "command")?;
        shell::parse_bash(command, str_arg(cwd, "cwd")?)
    }
}

ffi_fn! {
    /// `command_prefix(tokens_json)` → the prefix; `tokens_json` is a JSON list of strings.
    fn command_prefix_ffi(tokens_json: *const c_char) {
        let tokens: Vec<String> = json_arg(tokens_json, "tokens")?;
        Ok(shell::command_prefix(&tokens))
    }
}

// ---- terminal (issue 7) -----------------------------------------------------

/// Output bytes cross the boundary as base64 text inside the JSON envelope (no NUL, no escaping
/// blow-up, any byte survives).
fn base64_output(bytes: Vec<u8>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

ffi_fn! {
    /// `Terminal(command, cwd, rows, cols, env)` → `Info`; `command_json` is a JSON argv list or
    /// `null` (the user's shell), `env_json` a JSON object of variables or `null`.
    fn terminal_create_ffi(
        command_json: *const c_char,
        cwd: *const c_char,
        rows: i64,
        cols: i64,
        env_json: *const c_char,
    ) {
        let env: Option<std::collections::BTreeMap<String, String>> = json_arg(env_json, "env")?;
        terminal::create(terminal::Spawn {
            command: json_arg(command_json, "command")?,
            cwd: str_arg(cwd, "cwd")?.to_string(),
            rows,
            cols,
            env: env.unwrap_or_default(),
        })
    }
}

ffi_fn! {
    /// `write(id, data)` → bytes written; data is pointer + length (may hold NUL).
    fn terminal_write_ffi(id: *const c_char, data: *const u8, data_len: usize) {
        terminal::write(str_arg(id, "id")?, bytes_arg(data, data_len, "data")?)
    }
}

ffi_fn! {
    /// `read(id, timeout)` → the number of bytes of new output written into `out` (pointer +
    /// capacity, owned by the caller), waiting up to `timeout` seconds for some.
    fn terminal_read_ffi(id: *const c_char, timeout: f64, out: *mut u8, out_len: usize) {
        terminal::read_into(str_arg(id, "id")?, timeout, out_buffer_arg(out, out_len, "out")?)
    }
}

ffi_fn! {
    /// `wait(id, timeout)` → exit code or null while running.
    fn terminal_wait_ffi(id: *const c_char, timeout: f64) {
        terminal::wait(str_arg(id, "id")?, timeout)
    }
}

ffi_fn! {
    /// `resize(id, rows, cols)` → null.
    fn terminal_resize_ffi(id: *const c_char, rows: i64, cols: i64) {
        terminal::resize(str_arg(id, "id")?, rows, cols)
    }
}

ffi_fn! {
    /// `info(id)` → `Info`.
    fn terminal_info_ffi(id: *const c_char) {
        terminal::info(str_arg(id, "id")?)
    }
}

ffi_fn! {
    /// `buffer(id)` → the retained output as base64.
    fn terminal_buffer_ffi(id: *const c_char) {
        terminal::buffer(str_arg(id, "id")?).map(base64_output)
    }
}

ffi_fn! {
    /// `drain(id)` → the retained output as base64, emptying the buffer.
    fn terminal_drain_ffi(id: *const c_char) {
        terminal::drain(str_arg(id, "id")?).map(base64_output)
    }
}

ffi_fn! {
    /// `clear(id)` → null.
    fn terminal_clear_ffi(id: *const c_char) {
        terminal::clear(str_arg(id, "id")?)
    }
}

ffi_fn! {
    /// `close(id)` → the final `Info`.
    fn terminal_close_ffi(id: *const c_char) {
        terminal::close(str_arg(id, "id")?)
    }
}

ffi_fn! {
    /// `terminals()` → `[Info]`, oldest first.
    fn terminals_ffi() {
        Ok(terminal::terminals())
    }
}

ffi_fn! {
    /// `cleanup_idle(seconds)` → ids of the exited sessions idle longer than that, now closed.
    fn terminal_cleanup_idle_ffi(seconds: f64) {
        terminal::cleanup_idle(seconds)
    }
}

// ---- fuzzy (issue 8) --------------------------------------------------------

ffi_fn! {
    /// `fuzzy_search(query, items, limit, algorithm)` → indices into `items`, best first.
    /// `query` is pointer + length; `items` is `item_count` strings joined by NUL, or a JSON list
    /// when `items_json` is non-zero (an item holding NUL); a negative `limit` means all.
    fn fuzzy_search_ffi(
        query: *const u8,
        query_len: usize,
        items: *const u8,
        items_len: usize,
        item_count: usize,
        items_json: i32,
        limit: i64,
        algorithm: *const c_char,
    ) {
        let query = ffi_support::text_arg(query, query_len, "query")?;
        let items = ffi_support::text_arg(items, items_len, "items")?;
        let items = fuzzy::decode_items(items, item_count, items_json != 0)?;
        let algorithm = fuzzy::Algorithm::parse(ffi_support::opt_str_arg(algorithm, "algorithm")?)?;
        Ok(fuzzy::rank(query, &items[..], opt_usize(limit), algorithm))
    }
}

ffi_fn! {
    /// `FuzzyIndex(items, algorithm)` → `{"id", "len", "algorithm"}`; items as in `fuzzy_search_ffi`.
    fn fuzzy_index_new_ffi(
        items: *const u8,
        items_len: usize,
        item_count: usize,
        items_json: i32,
        algorithm: *const c_char,
    ) {
        let items = ffi_support::text_arg(items, items_len, "items")?;
        let items = fuzzy::decode_items(items, item_count, items_json != 0)?;
        let algorithm = fuzzy::Algorithm::parse(ffi_support::opt_str_arg(algorithm, "algorithm")?)?;
        Ok(fuzzy::index::create(&items, algorithm))
    }
}

ffi_fn! {
    /// `index.search(query, limit)` → indices; only the query crosses the boundary.
    fn fuzzy_index_search_ffi(id: u64, query: *const u8, query_len: usize, limit: i64) {
        let query = ffi_support::text_arg(query, query_len, "query")?;
        fuzzy::index::search(id, query, opt_usize(limit))
    }
}

ffi_fn! {
    /// `index.close()` → whether the index was open.
    fn fuzzy_index_close_ffi(id: u64) {
        Ok(fuzzy::index::close(id))
    }
}

ffi_fn! {
    /// How many fuzzy indexes are open (tests check that closing frees them).
    fn fuzzy_index_count_ffi() {
        Ok(fuzzy::index::open_count())
    }
}

// ---- watcher (issue 9) ------------------------------------------------------

ffi_fn! {
    /// `Watcher(path, ignore, max_queue)` → `{"id", "path"}`; `ignore_json` is a JSON list of
    /// globs.
    fn watcher_open_ffi(path: *const c_char, ignore_json: *const c_char, max_queue: i64) {
        let ignore: Vec<String> = json_arg(ignore_json, "ignore")?;
        watcher::open(str_arg(path, "path")?, &ignore, max_queue)
    }
}

ffi_fn! {
    /// `poll()` → the queued events, without waiting.
    fn watcher_poll_ffi(id: u64) {
        watcher::poll(id)
    }
}

ffi_fn! {
    /// `wait(timeout)` → the queued events once there is one, or `[]` after `timeout` seconds.
    /// Blocks on a condition variable; ctypes releases the GIL for the call.
    fn watcher_wait_ffi(id: u64, timeout: f64) {
        watcher::wait(id, timeout)
    }
}

ffi_fn! {
    /// `info()` → `{"path", "pending", "dropped", "error"}`.
    fn watcher_info_ffi(id: u64) {
        watcher::info(id)
    }
}

ffi_fn! {
    /// `close()` → null; the id is forgotten.
    fn watcher_close_ffi(id: u64) {
        watcher::close(id)
    }
}

// ---- lock (issue 10) --------------------------------------------------------

/// A ticket or channel id from Python: ids are issued from 1, so a negative one is a caller bug.
fn lock_id(value: i64, name: &str) -> error::ToolResult<u64> {
    u64::try_from(value).map_err(|_| {
        error::ToolError::invalid_argument(format!("{name} must be >= 0, got {value}"))
    })
}

ffi_fn! {
    /// `lock_try(key, mode, channel)` → `{"ticket", "granted"}`; `mode` is `"read"` or `"write"`,
    /// a negative `channel` means none (the ticket is waited for with `lock_wait`).
    fn lock_try_ffi(key: *const c_char, mode: *const c_char, channel: i64) {
        let mode = lock::Mode::parse(str_arg(mode, "mode")?)?;
        let channel = u64::try_from(channel).ok();
        lock::try_acquire(str_arg(key, "key")?, mode, channel)
    }
}

ffi_fn! {
    /// `lock_wait(ticket, timeout_us)` → `true` once granted, `false` at the timeout (the ticket
    /// stays queued); a negative timeout waits without limit. Blocks with the GIL released.
    fn lock_wait_ffi(ticket: i64, timeout_us: i64) {
        let timeout = u64::try_from(timeout_us).ok().map(std::time::Duration::from_micros);
        lock::wait(lock_id(ticket, "ticket")?, timeout)
    }
}

ffi_fn! {
    /// `lock_release(ticket)` → `null`: releases a held ticket or withdraws a waiting one.
    fn lock_release_ffi(ticket: i64) {
        lock::release(lock_id(ticket, "ticket")?)
    }
}

ffi_fn! {
    /// `lock_stats()` → `LockStats`.
    fn lock_stats_ffi() {
        Ok(lock::stats())
    }
}

ffi_fn! {
    /// `lock_channel_open()` → `{"channel", "fd"}`: an asyncio notification channel.
    fn lock_channel_open_ffi() {
        lock::channel_open()
    }
}

ffi_fn! {
    /// `lock_channel_take(channel)` → the ticket ids granted since the last call.
    fn lock_channel_take_ffi(channel: i64) {
        lock::channel_take(lock_id(channel, "channel")?)
    }
}

ffi_fn! {
    /// `lock_channel_close(channel)` → `null`; withdraws the channel's waiting tickets.
    fn lock_channel_close_ffi(channel: i64) {
        lock::channel_close(lock_id(channel, "channel")?)
    }
}

// ---- system --------------------------------------------------------------------------------

ffi_fn! {
    /// `stats()` → `Stats`.
    fn stats_ffi() {
        stats::stats()
    }
}

ffi_fn! {
    /// `extract(archive, dest)` → `ExtractResult`.
    fn extract_ffi(archive: *const c_char, dest: *const c_char) {
        archive::extract(str_arg(archive, "archive")?, str_arg(dest, "dest")?)
    }
}

// ---- the boundary itself -------------------------------------------------------------------

ffi_fn! {
    /// Does nothing: the fixed cost of one crossing (script/bench-ffi.py).
    fn probe_noop_ffi() {
        Ok(())
    }
}

ffi_fn! {
    /// Adds two integers: the crossing with integer arguments (script/bench-ffi.py).
    fn probe_ints_ffi(a: i64, b: i64) {
        Ok(a.wrapping_add(b))
    }
}

ffi_fn! {
    /// Returns its string argument: a string in and a JSON string of the same size out
    /// (script/bench-ffi.py).
    fn probe_echo_ffi(text: *const c_char) {
        str_arg(text, "text")
    }
}

ffi_fn! {
    /// Waits until `parties` callers are inside at once (or `timeout_ms` passes) and says whether
    /// they met: proof that calls from several Python threads really run in parallel, i.e. that
    /// the GIL is released during a call (test/test_concurrency.py).
    fn probe_barrier_ffi(parties: i64, timeout_ms: i64) {
        Ok(probe::barrier(parties, timeout_ms))
    }
}

#[cfg(feature = "test-exports")]
ffi_fn! {
    /// `confine_force_walk(on)` → `{"previous": bool, "kernel_path": "openat2"|"walk"}`: makes
    /// confined paths resolve by the walk (1) or by `openat2` where the kernel has it (0), so
    /// tests prove the walk on a kernel that has `openat2`.
    fn confine_force_walk_ffi(on: i64) {
        let previous = confine::force_walk(on != 0);
        Ok(serde_json::json!({"previous": previous, "kernel_path": confine::kernel_path()}))
    }
}

#[cfg(feature = "test-exports")]
ffi_fn! {
    /// `vcs_cache(clear)` → `{"kept": n}`: how many repositories `git_status` and `git_diff` keep
    /// open between calls (vcs/cache.rs), after dropping them all when `clear` is 1; tests use it
    /// to prove a sequence of calls went through a kept repository.
    fn vcs_cache_ffi(clear: i64) {
        if clear != 0 {
            vcs::cache::clear();
        }
        Ok(serde_json::json!({"kept": vcs::cache::kept()}))
    }
}

#[cfg(feature = "test-exports")]
ffi_fn! {
    /// Panics on purpose, so tests can prove a panic comes back as kind `panic`.
    fn debug_panic_ffi(message: *const c_char) {
        let message = str_arg(message, "message")?;
        if !message.is_empty() {
            panic!("{message}");
        }
        Ok(())
    }
}
