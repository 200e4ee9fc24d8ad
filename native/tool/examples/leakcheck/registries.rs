//! The registries through whole lifecycles: terminals, fuzzy indexes, watchers, locks.

use std::ffi::CString;
use std::ptr;

use ironcode_tool as lib;
use serde_json::Value;

use crate::{Driver, Fixture, INVALID_TEXT, WAIT_S, c, cpath, invalid_c};

// ---- terminal --------------------------------------------------------------------------------

fn id_of(info: &Value) -> CString {
    c(info["id"].as_str().expect("terminal id"))
}

/// A `cat` session through every operation, closed twice and used after close; an exiting
/// program reaped by cleanup_idle; every way create can be refused.
pub fn terminal(d: &mut Driver, fx: &Fixture) {
    let cwd = fx.tree.as_ptr();
    let cat = c("[\"cat\"]");
    let env = c("{\"LEAKCHECK\": \"1\"}");
    let info = call!(
        d,
        terminal_create_ffi(cat.as_ptr(), cwd, 24, 80, env.as_ptr())
    )
    .ok("create");
    let id = id_of(&info);
    let id = id.as_ptr();
    let data = b"hello\0\n";
    call!(d, terminal_write_ffi(id, data.as_ptr(), data.len())).ok("terminal write");
    let mut out = vec![0u8; 4096];
    let (out_ptr, out_len) = (out.as_mut_ptr(), out.len());
    call!(d, terminal_read_ffi(id, WAIT_S, out_ptr, out_len)).ok("terminal read");
    call!(d, terminal_wait_ffi(id, 0.0)).ok("terminal wait (running)");
    call!(d, terminal_resize_ffi(id, 40, 120)).ok("resize");
    call!(d, terminal_resize_ffi(id, 0, 120)).error("resize 0", "invalid_argument");
    call!(d, terminal_info_ffi(id)).ok("info");
    call!(d, terminal_buffer_ffi(id)).ok("buffer");
    call!(d, terminal_drain_ffi(id)).ok("drain");
    call!(d, terminal_clear_ffi(id)).ok("clear");
    call!(d, terminal_read_ffi(id, -1.0, out_ptr, out_len))
        .error("read timeout", "invalid_argument");
    call!(d, terminal_read_ffi(id, f64::NAN, out_ptr, out_len))
        .error("read NaN", "invalid_argument");
    call!(d, terminal_read_ffi(id, 0.0, ptr::null_mut(), 8)).error("read NULL", "invalid_argument");
    call!(d, terminal_read_ffi(id, 0.0, out_ptr, 0)).error("read into 0 bytes", "invalid_argument");
    call!(d, terminal_write_ffi(id, ptr::null(), 3)).error("write NULL", "invalid_argument");
    let open = call!(d, terminals_ffi()).ok("terminals");
    assert_eq!(open.as_array().map(Vec::len), Some(1), "one open terminal");
    call!(d, terminal_close_ffi(id)).ok("close");
    call!(d, terminal_close_ffi(id)).error("close twice", "not_found");
    for reply in [
        call!(d, terminal_write_ffi(id, data.as_ptr(), data.len())),
        call!(d, terminal_read_ffi(id, 0.0, out_ptr, out_len)),
        call!(d, terminal_wait_ffi(id, 0.0)),
        call!(d, terminal_resize_ffi(id, 24, 80)),
        call!(d, terminal_info_ffi(id)),
        call!(d, terminal_buffer_ffi(id)),
        call!(d, terminal_drain_ffi(id)),
        call!(d, terminal_clear_ffi(id)),
    ] {
        reply.error("closed terminal", "not_found");
    }

    // A program that exits by itself, then closed by cleanup_idle.
    let exits = c("[\"sh\", \"-c\", \"echo bye; exit 3\"]");
    let info = call!(
        d,
        terminal_create_ffi(exits.as_ptr(), cwd, 24, 80, c("null").as_ptr())
    )
    .ok("create exiting");
    let id = id_of(&info);
    let code = call!(d, terminal_wait_ffi(id.as_ptr(), WAIT_S)).ok("wait");
    assert_eq!(code, Value::from(3), "exit code");
    call!(d, terminal_write_ffi(id.as_ptr(), b"x".as_ptr(), 1)).error("exited", "invalid_argument");
    call!(d, terminal_cleanup_idle_ffi(-1.0)).error("cleanup", "invalid_argument");
    let closed = call!(d, terminal_cleanup_idle_ffi(0.0)).ok("cleanup_idle");
    if closed.as_array().is_none_or(Vec::is_empty) {
        // Idle for less than the clock's resolution: close it by hand.
        call!(d, terminal_close_ffi(id.as_ptr())).ok("close exited");
    }
    let open = call!(d, terminals_ffi()).ok("terminals");
    assert_eq!(open, Value::Array(Vec::new()), "every terminal closed");

    let bad_create = [
        ("[\"cat\"", ".", 24, "null", "invalid_argument"),
        ("[]", ".", 24, "null", "invalid_argument"),
        ("[\"no-such-command-xyz\"]", ".", 24, "null", "not_found"),
        ("[\"cat\"]", "/no/such/dir", 24, "null", "not_found"),
        ("[\"cat\"]", ".", 0, "null", "invalid_argument"),
        ("[\"cat\"]", ".", 24, "{\"A=B\": \"1\"}", "invalid_argument"),
        ("[\"cat\"]", ".", 24, "[1]", "invalid_argument"),
    ];
    for (command, dir, rows, env, kind) in bad_create {
        let (command, dir, env) = (c(command), c(dir), c(env));
        call!(
            d,
            terminal_create_ffi(command.as_ptr(), dir.as_ptr(), rows, 80, env.as_ptr())
        )
        .error("bad create", kind);
    }
    let null = c("null");
    call!(
        d,
        terminal_create_ffi(ptr::null(), cwd, 24, 80, null.as_ptr())
    )
    .error("create NULL command", "invalid_argument");
    call!(
        d,
        terminal_create_ffi(cat.as_ptr(), invalid_c(), 24, 80, null.as_ptr())
    )
    .error("create UTF-8", "invalid_argument");
    call!(
        d,
        terminal_create_ffi(cat.as_ptr(), cwd, 24, 80, ptr::null())
    )
    .error("create NULL env", "invalid_argument");
    call!(d, terminal_info_ffi(ptr::null())).error("info NULL", "invalid_argument");
    call!(d, terminal_close_ffi(invalid_c())).error("close UTF-8", "invalid_argument");
}

// ---- fuzzy -----------------------------------------------------------------------------------

/// fuzzy_search on every algorithm and transport, and an index created, searched and closed
/// twice; the registry must be empty afterwards.
pub fn fuzzy(d: &mut Driver) {
    let items: Vec<String> = (0..300)
        .map(|i| format!("src/module_{i}/file_{}.rs", i * 7))
        .collect();
    let joined = items.join("\0");
    let json = serde_json::to_string(&items).expect("json");
    let query = b"mod1fil";
    for algorithm in [None, Some("nucleo"), Some("skim"), Some("sublime")] {
        let algorithm = algorithm.map(c);
        let algo = algorithm.as_ref().map_or(ptr::null(), |a| a.as_ptr());
        let (jp, jl, n) = (joined.as_ptr(), joined.len(), items.len());
        call!(
            d,
            fuzzy_search_ffi(query.as_ptr(), query.len(), jp, jl, n, 0, 20, algo)
        )
        .ok("fuzzy_search");
    }
    let (jp, jl, n) = (json.as_ptr(), json.len(), items.len());
    call!(
        d,
        fuzzy_search_ffi(query.as_ptr(), query.len(), jp, jl, n, 1, -1, ptr::null())
    )
    .ok("fuzzy_search json");
    let (jp, jl) = (joined.as_ptr(), joined.len());
    for (count, json_flag, algorithm, kind) in [
        (items.len() + 5, 0, None, "invalid_argument"),
        (items.len(), 1, None, "invalid_argument"),
        (items.len(), 0, Some("nope"), "invalid_argument"),
    ] {
        let algorithm = algorithm.map(c);
        let algo = algorithm.as_ref().map_or(ptr::null(), |a| a.as_ptr());
        call!(
            d,
            fuzzy_search_ffi(query.as_ptr(), 3, jp, jl, count, json_flag, 5, algo)
        )
        .error("bad fuzzy_search", kind);
    }
    let bad = INVALID_TEXT;
    call!(
        d,
        fuzzy_search_ffi(
            bad.as_ptr(),
            bad.len(),
            jp,
            jl,
            items.len(),
            0,
            5,
            ptr::null()
        )
    )
    .error("query UTF-8", "invalid_argument");
    call!(
        d,
        fuzzy_search_ffi(query.as_ptr(), 3, ptr::null(), 9, 1, 0, 5, ptr::null())
    )
    .error("items NULL", "invalid_argument");

    let sublime = c("sublime");
    let opened = call!(
        d,
        fuzzy_index_new_ffi(jp, jl, items.len(), 0, sublime.as_ptr())
    )
    .ok("fuzzy_index_new");
    let id = opened["id"].as_u64().expect("index id");
    call!(
        d,
        fuzzy_index_search_ffi(id, query.as_ptr(), query.len(), 10)
    )
    .ok("index search");
    call!(d, fuzzy_index_search_ffi(id, bad.as_ptr(), bad.len(), 10))
        .error("index query UTF-8", "invalid_argument");
    let count = call!(d, fuzzy_index_count_ffi()).ok("fuzzy_index_count");
    assert_eq!(count, Value::from(1), "one open index");
    let closed = call!(d, fuzzy_index_close_ffi(id)).ok("index close");
    assert_eq!(closed, Value::Bool(true));
    let again = call!(d, fuzzy_index_close_ffi(id)).ok("index close twice");
    assert_eq!(again, Value::Bool(false));
    call!(d, fuzzy_index_search_ffi(id, query.as_ptr(), 3, 10)).error("closed", "invalid_argument");
    call!(
        d,
        fuzzy_index_new_ffi(jp, jl, items.len(), 0, c("nope").as_ptr())
    )
    .error("index algorithm", "invalid_argument");
    call!(d, fuzzy_index_new_ffi(json.as_ptr(), 3, 2, 1, ptr::null()))
        .error("index json", "invalid_argument");
    let count = call!(d, fuzzy_index_count_ffi()).ok("fuzzy_index_count");
    assert_eq!(count, Value::from(0), "every index closed");
}

// ---- watcher ---------------------------------------------------------------------------------

/// A watcher opened, fed a file and a new folder (the scanner thread runs), waited on, polled,
/// closed twice and used after close; every way open can be refused.
pub fn watcher(d: &mut Driver, fx: &Fixture, round: usize) {
    let dir = fx.scratch.join("watched");
    std::fs::create_dir_all(&dir).expect("watched dir");
    let path = cpath(&dir);
    let ignore = c("[\"*.log\", \"node_modules\"]");
    let opened = call!(d, watcher_open_ffi(path.as_ptr(), ignore.as_ptr(), 100)).ok("watch open");
    let id = opened["id"].as_u64().expect("watcher id");
    std::fs::write(dir.join(format!("f{round}.txt")), "x").expect("write watched");
    std::fs::create_dir_all(dir.join(format!("new{round}/deep"))).expect("new folder");
    call!(d, watcher_wait_ffi(id, WAIT_S)).ok("watcher wait");
    call!(d, watcher_poll_ffi(id)).ok("watcher poll");
    call!(d, watcher_info_ffi(id)).ok("watcher info");
    call!(d, watcher_wait_ffi(id, -1.0)).error("wait timeout", "invalid_argument");
    call!(d, watcher_close_ffi(id)).ok("watcher close");
    call!(d, watcher_close_ffi(id)).error("close twice", "invalid_argument");
    call!(d, watcher_poll_ffi(id)).error("poll closed", "invalid_argument");
    call!(d, watcher_wait_ffi(id, 0.0)).error("wait closed", "invalid_argument");
    call!(d, watcher_info_ffi(id)).error("info closed", "invalid_argument");
    call!(
        d,
        watcher_open_ffi(fx.missing.as_ptr(), c("[]").as_ptr(), 10)
    )
    .error("open", "not_found");
    call!(d, watcher_open_ffi(fx.file.as_ptr(), c("[]").as_ptr(), 10))
        .error("open file", "not_a_directory");
    call!(d, watcher_open_ffi(path.as_ptr(), c("[x").as_ptr(), 10))
        .error("json", "invalid_argument");
    call!(d, watcher_open_ffi(path.as_ptr(), c("[]").as_ptr(), 0))
        .error("queue", "invalid_argument");
    call!(d, watcher_open_ffi(ptr::null(), c("[]").as_ptr(), 10)).error("NULL", "invalid_argument");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- lock ------------------------------------------------------------------------------------

fn ticket(reply: Value, granted: bool) -> i64 {
    assert_eq!(reply["granted"], Value::Bool(granted), "{reply}");
    reply["ticket"].as_i64().expect("ticket")
}

/// Readers, a queued writer, timeouts, a notification channel granting a ticket and withdrawing
/// one on close, and every bad ticket, channel, mode and key; no lock may stay live.
pub fn lock(d: &mut Driver, round: usize) {
    let key = c(&format!("leakcheck/{}", round % 7));
    let (read, write) = (c("read"), c("write"));
    let reader = ticket(
        call!(d, lock_try_ffi(key.as_ptr(), read.as_ptr(), -1)).ok("try"),
        true,
    );
    let writer = ticket(
        call!(d, lock_try_ffi(key.as_ptr(), write.as_ptr(), -1)).ok("try"),
        false,
    );
    let granted = call!(d, lock_wait_ffi(writer, 0)).ok("wait, still held");
    assert_eq!(granted, Value::Bool(false));
    let stats = call!(d, lock_stats_ffi()).ok("lock_stats");
    assert_eq!(stats["waiting_writers"], Value::from(1), "{stats}");
    call!(d, lock_release_ffi(reader)).ok("release reader");
    let granted = call!(d, lock_wait_ffi(writer, 1_000_000)).ok("wait, granted");
    assert_eq!(granted, Value::Bool(true));

    let channel = call!(d, lock_channel_open_ffi()).ok("channel open");
    let channel = channel["channel"].as_i64().expect("channel id");
    let queued = call!(d, lock_try_ffi(key.as_ptr(), read.as_ptr(), channel)).ok("try on channel");
    let queued = ticket(queued, false);
    call!(d, lock_release_ffi(writer)).ok("release writer");
    let ready = call!(d, lock_channel_take_ffi(channel)).ok("channel take");
    assert_eq!(
        ready,
        Value::from(vec![queued]),
        "the queued reader was granted"
    );
    let next_writer = ticket(
        call!(d, lock_try_ffi(key.as_ptr(), write.as_ptr(), -1)).ok(""),
        false,
    );
    call!(d, lock_release_ffi(queued)).ok("release reader");
    call!(d, lock_release_ffi(next_writer)).ok("release writer");
    // A ticket left waiting on a channel is withdrawn when the channel closes.
    let holder = ticket(
        call!(d, lock_try_ffi(key.as_ptr(), write.as_ptr(), -1)).ok(""),
        true,
    );
    let waiting = call!(d, lock_try_ffi(key.as_ptr(), read.as_ptr(), channel)).ok("queued");
    let waiting = ticket(waiting, false);
    call!(d, lock_channel_close_ffi(channel)).ok("channel close");
    call!(d, lock_release_ffi(waiting)).error("withdrawn", "invalid_argument");
    call!(d, lock_release_ffi(holder)).ok("release holder");
    call!(d, lock_channel_close_ffi(channel)).error("channel twice", "invalid_argument");
    call!(d, lock_channel_take_ffi(channel)).error("channel closed", "invalid_argument");
    call!(d, lock_channel_take_ffi(-1)).error("channel negative", "invalid_argument");

    call!(d, lock_release_ffi(holder)).error("release twice", "invalid_argument");
    call!(d, lock_release_ffi(-5)).error("negative ticket", "invalid_argument");
    call!(d, lock_wait_ffi(holder, 0)).error("wait released", "invalid_argument");
    call!(d, lock_try_ffi(key.as_ptr(), c("exclusive").as_ptr(), -1))
        .error("mode", "invalid_argument");
    call!(d, lock_try_ffi(key.as_ptr(), read.as_ptr(), 999_999))
        .error("channel", "invalid_argument");
    call!(d, lock_try_ffi(ptr::null(), read.as_ptr(), -1)).error("key NULL", "invalid_argument");
    call!(d, lock_try_ffi(invalid_c(), read.as_ptr(), -1)).error("key UTF-8", "invalid_argument");
    let stats = call!(d, lock_stats_ffi()).ok("lock_stats");
    assert_eq!(
        stats["total_locks"],
        Value::from(0),
        "every lock released: {stats}"
    );
}
