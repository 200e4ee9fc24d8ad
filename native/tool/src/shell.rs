//! `shell` — what a bash command line will do, for the bash tool's permission checks: every
//! command in it (name, arguments, source text), the folders that file commands touch, and the
//! patterns a user can allow ("git log *").
//!
//! Parsing is tree-sitter-bash ([`parse`] works around a crash in its scanner and a slow path of
//! the runtime); the walk over the tree is ours. The twin
//! (`ironcode/twin/shell.py`) walks the same tree from py-tree-sitter with the same rules, function
//! for function, so both backends return the same value for every input. Unparseable input gives
//! the commands tree-sitter could still recognise; the one command line refused is one whose
//! commands' text would exceed [`MAX_COMMAND_TEXT_BYTES`] (deep nesting, see there).
//!
//! Rules (OPERATIONS.md "Shell" and issue 6):
//! - Every `command` node counts, wherever it sits: pipelines, `&&`/`||` lists, subshells, loop
//!   and `if` bodies, command and process substitutions, statements chained after a heredoc start.
//! - A redirection after a pipeline or list belongs to its last command, as bash binds it
//!   (`a && b > out` → `b > out`); after a compound statement (`{ a; b; } > out`) it belongs to
//!   the compound, so no command gets it.
//! - A redirection takes one word; tree-sitter-bash files any further words
//!   (`rm 2>/dev/null -rf /etc`) as extra destinations, but bash passes them to the command, so
//!   they are arguments here. Missing them would hide `/etc` from the folder check.
//! - A heredoc's body is data, not part of the command line: a command's text stops before it.
//! - Each command lists the files its redirections name (`> out`, `2>> log`, `< in`, also one
//!   bound inside a heredoc: `cat <<EOF > out`), so a folder check sees `echo x > ../out`; a
//!   descriptor copy (`2>&1`, `<&0`, `>&-`) names no file.

mod kinds;
mod parse;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tree_sitter::{Node, TreeCursor};

use kinds::{Field, Kind, field, kind};
use parse::parse_tree;

use crate::error::{ToolError, ToolResult};
use crate::paths;

/// How much source text the commands of one command line may copy into the answer, in bytes.
/// A command's text holds every command nested inside it, so `$($($(…)))` nested n deep copies
/// about 3n²/2 bytes: the fuzzer's 48 KB of `$(` built a 4.7 GB answer. Real command lines stay
/// far below: `bash -c` accepts at most 128 KiB (Linux's MAX_ARG_STRLEN), and this is 128 times
/// that (3343 levels of `$(`; the answer at the limit peaks near 240 MB of resident memory with
/// its JSON). Past it, `parse_bash` is `invalid_argument` rather than a partial answer: a
/// permission check must not pass a command it did not see.
///
/// Known limit, not bounded here: tree-sitter's error recovery is quadratic on some unbalanced
/// input — 8,000 unclosed `a=(` (24 KB) take ~6 s, 30,000 (90 KB) ~70 s, in both backends (the C
/// runtime); py-tree-sitter 0.26 offers no progress callback to stop it, so a time budget would
/// break parity. Balanced input of any size parses in linear time.
pub const MAX_COMMAND_TEXT_BYTES: usize = 16 << 20;

/// Commands that change the current folder: their folders count, their patterns do not
/// (moving around is always allowed once the folder is).
pub const CD_COMMANDS: &[&str] = &["cd", "chdir", "pushd", "popd"];

/// Commands whose non-flag arguments are paths: the folders they touch go to `directories`.
pub const FILE_COMMANDS: &[&str] = &[
    "cd", "chdir", "pushd", "popd", "rm", "cp", "mv", "mkdir", "touch", "chmod", "chown", "cat",
];

/// A path argument is cut at its first glob character: `src/*.rs` touches `src`.
const GLOB_CHARS: &[char] = &['*', '?', '['];

/// An argument holding one of these is only known when bash runs it (`$HOME`, `$(pwd)`, backticks).
const DYNAMIC_MARKERS: &[char] = &['$', '`'];

/// Operators that duplicate or close a descriptor when their destination is a number
/// (`2>&1`, `<&0`): no file is named, so no redirection target is reported.
const DUPLICATING_OPERATORS: &[&str] = &[">&", "<&"];

/// Nodes an argument keeps as source text: only bash can evaluate them.
const VERBATIM_KINDS: &[&str] = &[
    "simple_expansion",
    "expansion",
    "command_substitution",
    "process_substitution",
    "arithmetic_expansion",
    "brace_expression",
];

/// Where a heredoc redirection's own text ends: before its body (`heredoc_body`, `heredoc_end`),
/// or before a statement chained after its start (`cat <<EOF | grep x`: a `pipeline`, or a field
/// below). The node kinds the walk asks about are in [`kinds`].
const HEREDOC_TAIL_FIELDS: &[&str] = &["operator", "right"];

/// Escapes of `$'...'` strings that stand for one character; any other escape (`\x41`, `\101`,
/// `\u00e9`, `\cA`) is kept as written.
const ANSI_C_ESCAPES: &[(char, char)] = &[
    ('a', '\u{07}'),
    ('b', '\u{08}'),
    ('e', '\u{1b}'),
    ('E', '\u{1b}'),
    ('f', '\u{0c}'),
    ('n', '\n'),
    ('r', '\r'),
    ('t', '\t'),
    ('v', '\u{0b}'),
    ('\\', '\\'),
    ('\'', '\''),
    ('"', '"'),
    ('?', '?'),
];

/// Characters a backslash escapes inside double quotes; before anything else it stays.
const DOUBLE_QUOTE_ESCAPABLE: &[char] = &['$', '`', '"', '\\', '\n'];

/// How many leading tokens name a command, by the longest matching prefix (`git` → 2 tokens,
/// `git config` → 3). A command not listed is named by its first token. Keys hold at most
/// [`MAX_ARITY_KEY_WORDS`] words. Mirrored by `ARITY` in the twin; a test checks they are equal.
pub const ARITY: &[(&str, usize)] = &[
    // one token: the command alone names what it does
    ("cat", 1),
    ("cd", 1),
    ("chmod", 1),
    ("chown", 1),
    ("cp", 1),
    ("echo", 1),
    ("env", 1),
    ("export", 1),
    ("grep", 1),
    ("kill", 1),
    ("killall", 1),
    ("ln", 1),
    ("ls", 1),
    ("mkdir", 1),
    ("mv", 1),
    ("nice", 1),
    ("nohup", 1),
    ("ps", 1),
    ("pwd", 1),
    ("rm", 1),
    ("rmdir", 1),
    ("sleep", 1),
    ("source", 1),
    ("sudo", 1),
    ("tail", 1),
    ("time", 1),
    ("timeout", 1),
    ("touch", 1),
    ("unset", 1),
    ("watch", 1),
    ("which", 1),
    ("xargs", 1),
    // two tokens: tools with subcommands (`git log`, `npm install`)
    ("bazel", 2),
    ("brew", 2),
    ("bun", 2),
    ("cargo", 2),
    ("cmake", 2),
    ("composer", 2),
    ("conda", 2),
    ("deno", 2),
    ("docker", 2),
    ("dotnet", 2),
    ("firebase", 2),
    ("flyctl", 2),
    ("git", 2),
    ("go", 2),
    ("gradle", 2),
    ("helm", 2),
    ("heroku", 2),
    ("ip", 2),
    ("kubectl", 2),
    ("make", 2),
    ("minikube", 2),
    ("mvn", 2),
    ("npm", 2),
    ("npx", 2),
    ("nvm", 2),
    ("pip", 2),
    ("pip3", 2),
    ("pipenv", 2),
    ("pnpm", 2),
    ("podman", 2),
    ("poetry", 2),
    ("pulumi", 2),
    ("pyenv", 2),
    ("python", 2),
    ("python3", 2),
    ("rustup", 2),
    ("swift", 2),
    ("systemctl", 2),
    ("terraform", 2),
    ("tmux", 2),
    ("uv", 2),
    ("vercel", 2),
    ("yarn", 2),
    // three tokens: cloud CLIs (`aws s3 ls`) and subcommands with their own subcommands
    ("aws", 3),
    ("az", 3),
    ("bun run", 3),
    ("bun x", 3),
    ("cargo add", 3),
    ("cargo run", 3),
    ("deno task", 3),
    ("docker compose", 3),
    ("docker container", 3),
    ("docker image", 3),
    ("docker network", 3),
    ("docker volume", 3),
    ("doctl", 3),
    ("gcloud", 3),
    ("gh", 3),
    ("git config", 3),
    ("git remote", 3),
    ("git stash", 3),
    ("ip addr", 3),
    ("ip link", 3),
    ("ip route", 3),
    ("kubectl rollout", 3),
    ("npm exec", 3),
    ("npm init", 3),
    ("npm run", 3),
    ("pnpm dlx", 3),
    ("pnpm exec", 3),
    ("pnpm run", 3),
    ("podman container", 3),
    ("podman image", 3),
    ("sfdx", 3),
    ("terraform workspace", 3),
    ("uv pip", 3),
    ("uv run", 3),
    ("yarn dlx", 3),
    ("yarn run", 3),
];

/// The longest key of [`ARITY`], in words: longer prefixes cannot match.
const MAX_ARITY_KEY_WORDS: usize = 2;

/// One command of a command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BashCommand {
    /// The command name, unquoted (`"ls"` → `ls`); empty if the command has none.
    pub name: String,
    /// Every argument in order, quotes and escapes removed, expansions kept as source text.
    pub args: Vec<String>,
    /// The command's source text with its redirections (a heredoc's body excluded).
    pub text: String,
    /// The files its redirections read or write, in order, unquoted like `args`.
    pub redirects: Vec<String>,
}

/// What `parse_bash` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BashParse {
    pub commands: Vec<BashCommand>,
    /// Absolute folders that file commands touch, first occurrence first.
    pub directories: Vec<String>,
    /// The source text of every command except cd-like ones.
    pub patterns: Vec<String>,
    /// `command_prefix(tokens) + " *"` of the same commands.
    pub always: Vec<String>,
}

/// Parses `command` and reports its commands, the folders its file commands touch (relative
/// paths resolved against `cwd`), and its permission patterns. Errors (`invalid_argument`): an
/// unusable `cwd` (empty, NUL), and a command line whose commands' text exceeds
/// [`MAX_COMMAND_TEXT_BYTES`].
pub fn parse_bash(command: &str, cwd: &str) -> ToolResult<BashParse> {
    let cwd = paths::absolute(cwd)?;
    let home = home_dir();
    let commands = commands(command.as_bytes())?;
    let mut result = BashParse {
        commands: Vec::new(),
        directories: Vec::new(),
        patterns: Vec::new(),
        always: Vec::new(),
    };
    for command in &commands {
        command_directories(command, &cwd, home.as_deref(), &mut result.directories);
        if CD_COMMANDS.contains(&command.name.as_str()) {
            continue;
        }
        push_unique(&mut result.patterns, command.text.clone());
        let tokens: Vec<&str> = std::iter::once(command.name.as_str())
            .chain(command.args.iter().map(String::as_str))
            .collect();
        let prefix = command_prefix(&tokens);
        if !prefix.is_empty() {
            push_unique(&mut result.always, format!("{prefix} *"));
        }
    }
    result.commands = commands;
    Ok(result)
}

/// The tokens that name what a command does, joined by spaces: the longest prefix of `tokens`
/// listed in [`ARITY`] decides how many tokens (`["git", "checkout", "main"]` → `"git
/// checkout"`); an unlisted command is named by its first token. Flags count as tokens
/// (`["git", "-C", "x"]` → `"git -C"`).
pub fn command_prefix<S: AsRef<str>>(tokens: &[S]) -> String {
    let tokens: Vec<&str> = tokens.iter().map(AsRef::as_ref).collect();
    let mut arity = 1;
    for len in (1..=tokens.len().min(MAX_ARITY_KEY_WORDS)).rev() {
        let words = &tokens[..len];
        let joined_len = words.iter().map(|w| w.len()).sum::<usize>() + len - 1;
        if let Some(&(_, n)) = ARITY
            .iter()
            .find(|(k, _)| k.len() == joined_len && key_is(k, words))
        {
            arity = n;
            break;
        }
    }
    tokens[..arity.min(tokens.len())].join(" ")
}

/// True if the space-separated `key` is `words` joined by spaces (compared without joining).
fn key_is(key: &str, words: &[&str]) -> bool {
    let mut rest = key;
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix(' ') {
                Some(after) => rest = after,
                None => return false,
            }
        }
        match rest.strip_prefix(word) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Every command of `source`, in source order (a command before the commands inside it).
/// `invalid_argument` past [`MAX_COMMAND_TEXT_BYTES`] of command text.
pub fn commands(source: &[u8]) -> ToolResult<Vec<BashCommand>> {
    match parse_tree(source) {
        Some(tree) => collect_commands(tree.root_node(), source),
        None => Ok(Vec::new()),
    }
}

/// Walks the tree depth-first with an explicit stack (deep nesting such as `$($($(...)))` must
/// not overflow the call stack), carrying the redirections bash binds to the last command.
/// Counts each command's text before copying it, against [`MAX_COMMAND_TEXT_BYTES`].
fn collect_commands(root: Node<'_>, source: &[u8]) -> ToolResult<Vec<BashCommand>> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    let mut stack: Vec<(Node<'_>, Vec<Node<'_>>)> = vec![(root, Vec::new())];
    let mut text_bytes = 0usize;
    // One buffer for every node's children: each node's are done with before the next pop.
    let mut children = Vec::new();
    while let Some((node, inherited)) = stack.pop() {
        fill_children(node, &mut cursor, &mut children);
        let children = &children[..];
        if kind(node) == Kind::Command {
            let end = command_end(node, &inherited);
            text_bytes += end.saturating_sub(node.start_byte());
            if text_bytes > MAX_COMMAND_TEXT_BYTES {
                return Err(too_complex());
            }
            found.push(command_from(node, children, &inherited, source, end));
        }
        let heir = redirect_heir(node, children);
        for (index, &(child, _)) in children.iter().enumerate().rev() {
            let passed = if Some(index) == heir {
                let mut passed = own_redirects(node, children);
                passed.extend(inherited.iter().copied());
                passed
            } else {
                Vec::new()
            };
            stack.push((child, passed));
        }
    }
    Ok(found)
}

fn too_complex() -> ToolError {
    ToolError::invalid_argument(format!(
        "This command line is too complex to check: its commands' text adds up to more than \
         {} MiB (deeply nested substitutions or subshells). Split it into simpler commands.",
        MAX_COMMAND_TEXT_BYTES >> 20
    ))
}

/// A node's children with their fields.
fn children_with_fields<'t>(node: Node<'t>, cursor: &mut TreeCursor<'t>) -> Vec<(Node<'t>, Field)> {
    let mut children = Vec::new();
    fill_children(node, cursor, &mut children);
    children
}

/// [`children_with_fields`] into `children` (cleared first), reusing its allocation.
fn fill_children<'t>(
    node: Node<'t>,
    cursor: &mut TreeCursor<'t>,
    children: &mut Vec<(Node<'t>, Field)>,
) {
    children.clear();
    if node.child_count() == 0 {
        // Most nodes are leaves: no cursor work.
        return;
    }
    cursor.reset(node);
    if cursor.goto_first_child() {
        loop {
            children.push((cursor.node(), field(cursor.field_id())));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

/// Which child receives the redirections bound to `node`: a redirected statement's body; the
/// last statement of a list, pipeline or negated command. Compound statements pass none on.
fn redirect_heir(node: Node<'_>, children: &[(Node<'_>, Field)]) -> Option<usize> {
    match kind(node) {
        Kind::RedirectedStatement => children.iter().position(|(_, f)| *f == Field::Body),
        Kind::Chain | Kind::Pipeline => children
            .iter()
            .rposition(|(c, _)| c.is_named() && kind(*c) != Kind::Comment),
        _ => None,
    }
}

/// The redirections a redirected statement adds to its body.
fn own_redirects<'t>(node: Node<'t>, children: &[(Node<'t>, Field)]) -> Vec<Node<'t>> {
    if kind(node) != Kind::RedirectedStatement {
        return Vec::new();
    }
    children
        .iter()
        .filter(|(c, f)| *f != Field::Body && kind(*c).is_redirect())
        .map(|(c, _)| *c)
        .collect()
}

/// Builds one command from its node, its children and the redirections bound to it from outside;
/// its text runs to `end` ([`command_end`]).
fn command_from(
    node: Node<'_>,
    children: &[(Node<'_>, Field)],
    inherited: &[Node<'_>],
    source: &[u8],
    end: usize,
) -> BashCommand {
    let mut name = String::new();
    let mut argument_nodes = Vec::new();
    let mut redirects = Vec::new();
    for &(child, field) in children {
        match field {
            Field::Name => name = unquote(child, source),
            Field::Argument => argument_nodes.push(child),
            _ if kind(child).is_redirect() => redirects.push(child),
            _ => {}
        }
    }
    redirects.extend(inherited.iter().copied());
    for &redirect in &redirects {
        extra_arguments(redirect, &mut argument_nodes);
    }
    argument_nodes.sort_by_key(Node::start_byte);
    redirects.sort_by_key(Node::start_byte);
    let mut targets = Vec::new();
    for &redirect in &redirects {
        redirect_targets(redirect, &mut targets);
    }
    BashCommand {
        name,
        args: argument_nodes.iter().map(|&n| unquote(n, source)).collect(),
        text: source_text(source, node.start_byte(), end),
        redirects: targets.iter().map(|&n| unquote(n, source)).collect(),
    }
}

/// The file a redirection reads or writes: its first destination (later ones are arguments,
/// see [`extra_arguments`]), unless it copies a descriptor (`2>&1`); for a heredoc, the
/// redirections bound inside it (`cat <<EOF > out`).
fn redirect_targets<'t>(redirect: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut cursor = redirect.walk();
    let children = children_with_fields(redirect, &mut cursor);
    match kind(redirect) {
        Kind::FileRedirect => {
            let operator = children
                .iter()
                .find(|(c, f)| *f == Field::None && !c.is_named())
                .map_or("", |(c, _)| c.kind());
            let Some(&(target, _)) = children.iter().find(|(_, f)| *f == Field::Destination) else {
                return;
            };
            if DUPLICATING_OPERATORS.contains(&operator) && target.kind() == "number" {
                return;
            }
            out.push(target);
        }
        Kind::HeredocRedirect => {
            for &(child, field) in &children {
                if field == Field::Redirect {
                    redirect_targets(child, out);
                }
            }
        }
        _ => {}
    }
}

/// Where a command's text ends: at its own end, or at the end of a redirection bound to it from
/// outside (`a && b > out` → `b > out`).
fn command_end(node: Node<'_>, inherited: &[Node<'_>]) -> usize {
    inherited
        .iter()
        .map(|&r| redirect_text_end(r))
        .fold(node.end_byte(), usize::max)
}

/// Words tree-sitter files under a redirection that bash passes to the command: every
/// destination after the first, and the words after a heredoc's start (`cat <<EOF file`).
fn extra_arguments<'t>(redirect: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut cursor = redirect.walk();
    let children = children_with_fields(redirect, &mut cursor);
    match kind(redirect) {
        Kind::FileRedirect => out.extend(
            children
                .iter()
                .filter(|(_, f)| *f == Field::Destination)
                .skip(1)
                .map(|(c, _)| *c),
        ),
        Kind::HeredocRedirect => {
            for &(child, field) in &children {
                match field {
                    Field::Argument => out.push(child),
                    Field::Redirect => extra_arguments(child, out),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Where a redirection's part of the command line ends: a heredoc's before its body or before
/// a statement chained after its start; any other at its end.
fn redirect_text_end(redirect: Node<'_>) -> usize {
    if kind(redirect) != Kind::HeredocRedirect {
        return redirect.end_byte();
    }
    let mut cursor = redirect.walk();
    let mut end = redirect.start_byte();
    for (child, field) in children_with_fields(redirect, &mut cursor) {
        let tail = kind(child).is_heredoc_tail() || field == Field::HeredocTail;
        if tail {
            break;
        }
        end = child.end_byte();
    }
    end
}

/// One step of [`unquote`]: a node still to unquote, or source text to unescape.
enum Piece<'t> {
    Node(Node<'t>),
    Text {
        start: usize,
        end: usize,
        double_quoted: bool,
    },
}

/// The value bash gives a word: quotes and escapes removed, expansions kept as source text
/// (`--f="a $b"` → `--f=a $b`). Iterative, for the same reason as [`collect_commands`].
fn unquote(node: Node<'_>, source: &[u8]) -> String {
    let mut out = String::new();
    if node.child_count() == 0 {
        // Most words are leaves: no cursor, no stack (a cursor is a C allocation).
        let text = source_str(source, node.start_byte(), node.end_byte());
        match kind(node) {
            Kind::Verbatim => out.push_str(&text),
            Kind::RawString => out.push_str(strip_quotes(&text, "'", "'")),
            Kind::AnsiCString => out.push_str(&unescape_ansi_c(strip_quotes(&text, "$'", "'"))),
            _ => unescape_word_into(&text, &mut out),
        }
        return out;
    }
    let mut stack = vec![Piece::Node(node)];
    let mut cursor = node.walk();
    while let Some(piece) = stack.pop() {
        match piece {
            Piece::Text {
                start,
                end,
                double_quoted,
            } => {
                let text = source_str(source, start, end);
                if double_quoted {
                    unescape_double_into(&text, &mut out);
                } else {
                    unescape_word_into(&text, &mut out);
                }
            }
            Piece::Node(n) => {
                let text = || source_str(source, n.start_byte(), n.end_byte());
                match kind(n) {
                    Kind::Verbatim => out.push_str(&text()),
                    Kind::RawString => out.push_str(strip_quotes(&text(), "'", "'")),
                    Kind::AnsiCString => {
                        out.push_str(&unescape_ansi_c(strip_quotes(&text(), "$'", "'")));
                    }
                    _ if n.child_count() == 0 => unescape_word_into(&text(), &mut out),
                    _ => {
                        let children = children_with_fields(n, &mut cursor);
                        let parts = node_parts(n, &children);
                        stack.extend(parts.into_iter().rev());
                    }
                }
            }
        }
    }
    out
}

/// The pieces of a composite word in order: its children and the text between them. Inside a
/// double-quoted string every piece but an expansion is double-quoted text; the quotes and a
/// `$"..."` string's `$` are dropped.
fn node_parts<'t>(node: Node<'t>, children: &[(Node<'t>, Field)]) -> Vec<Piece<'t>> {
    let own = kind(node);
    let double_quoted = own == Kind::String;
    let mut kept: &[(Node<'t>, Field)] = children;
    let delimiter = match own {
        Kind::String => Some(Kind::DoubleQuote),
        Kind::TranslatedString => Some(Kind::Dollar),
        _ => None,
    };
    let (mut low, mut high) = (node.start_byte(), node.end_byte());
    if let Some(delimiter) = delimiter
        && let Some(((first, _), rest)) = kept.split_first()
        && !first.is_named()
        && kind(*first) == delimiter
    {
        low = first.end_byte();
        kept = rest;
    }
    if double_quoted
        && let Some(((last, _), rest)) = kept.split_last()
        && !last.is_named()
        && kind(*last) == Kind::DoubleQuote
    {
        high = last.start_byte();
        kept = rest;
    }
    let mut parts = Vec::with_capacity(kept.len() * 2 + 1);
    let mut position = low;
    for &(child, _) in kept {
        if child.start_byte() > position {
            parts.push(Piece::Text {
                start: position,
                end: child.start_byte(),
                double_quoted,
            });
        }
        if double_quoted && kind(child) != Kind::Verbatim {
            parts.push(Piece::Text {
                start: child.start_byte(),
                end: child.end_byte(),
                double_quoted,
            });
        } else {
            parts.push(Piece::Node(child));
        }
        position = position.max(child.end_byte());
    }
    if high > position {
        parts.push(Piece::Text {
            start: position,
            end: high,
            double_quoted,
        });
    }
    parts
}

/// `text` without the `open` quote before it and the `close` quote after it (each only if
/// present: an unterminated quote keeps what it has).
fn strip_quotes<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let inner = text.strip_prefix(open).unwrap_or(text);
    if inner.len() < text.len() {
        inner.strip_suffix(close).unwrap_or(inner)
    } else {
        inner
    }
}

/// An unquoted word's value: `\x` → `x`, backslash-newline removed, a final lone `\` kept;
/// appended to `out`.
fn unescape_word_into(text: &str, out: &mut String) {
    if !text.contains('\\') {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some('\n') => {}
            Some(next) => out.push(next),
        }
    }
}

/// Double-quoted text's value: a backslash escapes only `$`, backtick, `"`, `\` and newline
/// (which it removes); before anything else it stays. Appended to `out`.
fn unescape_double_into(text: &str, out: &mut String) {
    if !text.contains('\\') {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && DOUBLE_QUOTE_ESCAPABLE.contains(&next)
        {
            chars.next();
            if next != '\n' {
                out.push(next);
            }
            continue;
        }
        out.push(c);
    }
}

/// A `$'...'` string's value: the one-character escapes of [`ANSI_C_ESCAPES`] decoded, any
/// other escape kept as written.
fn unescape_ansi_c(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('\\'),
            Some(next) => match ANSI_C_ESCAPES.iter().find(|(e, _)| *e == next) {
                Some(&(_, value)) => out.push(value),
                None => {
                    out.push('\\');
                    out.push(next);
                }
            },
        }
    }
    out
}

/// Adds the folders `command` touches, if it is a file command: each non-flag, non-dynamic
/// argument with `~` expanded, cut at its first glob character and resolved against `cwd`
/// lexically; the folder itself if it exists, else its parent.
fn command_directories(
    command: &BashCommand,
    cwd: &Path,
    home: Option<&str>,
    out: &mut Vec<String>,
) {
    if !FILE_COMMANDS.contains(&command.name.as_str()) {
        return;
    }
    for arg in &command.args {
        let flag = arg.starts_with('-') || (command.name == "chmod" && arg.starts_with('+'));
        if arg.is_empty() || flag || arg.contains(DYNAMIC_MARKERS) {
            continue;
        }
        let expanded = expand_home(arg, home);
        let path = resolve(cwd, cut_at_glob(&expanded));
        push_unique(out, paths::display(&folder_of(path)));
    }
}

/// `$HOME`, if set to something.
fn home_dir() -> Option<String> {
    std::env::var("HOME").ok().filter(|home| !home.is_empty())
}

/// `~` and `~/...` with the home folder in place of `~`; anything else (`~user`) as is.
fn expand_home(arg: &str, home: Option<&str>) -> String {
    match home {
        Some(home) if arg == "~" => home.to_string(),
        Some(home) if arg.starts_with("~/") => format!("{home}{}", &arg[1..]),
        _ => arg.to_string(),
    }
}

/// The part of `arg` before its first glob character.
fn cut_at_glob(arg: &str) -> &str {
    arg.find(GLOB_CHARS).map_or(arg, |at| &arg[..at])
}

/// `arg` as an absolute path: joined to `cwd` unless absolute, `.` and `..` folded lexically
/// (symlinks are not followed, like `os.path.normpath`).
fn resolve(cwd: &Path, arg: &str) -> PathBuf {
    if arg.starts_with('/') {
        paths::normalize(Path::new(arg))
    } else {
        paths::normalize(&cwd.join(arg))
    }
}

/// `path` if it is an existing folder now, else its parent.
fn folder_of(path: PathBuf) -> PathBuf {
    if path.is_dir() {
        return path;
    }
    match path.parent() {
        Some(parent) => parent.to_path_buf(),
        None => path,
    }
}

/// Appends `item` unless it is already there (first occurrence kept).
fn push_unique(items: &mut Vec<String>, item: String) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// `source[start..end]` as text (lossy: a node never splits a character of valid UTF-8 input).
fn source_text(source: &[u8], start: usize, end: usize) -> String {
    source_str(source, start, end).into_owned()
}

/// [`source_text`] borrowed where it can be (always, for valid UTF-8 input).
fn source_str(source: &[u8], start: usize, end: usize) -> Cow<'_, str> {
    let end = end.min(source.len());
    let start = start.min(end);
    String::from_utf8_lossy(&source[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(command: &str) -> BashParse {
        parse_bash(command, "/").unwrap()
    }

    #[test]
    fn redirection_targets_skip_descriptor_copies() {
        let parsed = parse("echo x > ../out 2>&1 < in <&0 >&-");
        assert_eq!(parsed.commands[0].redirects, ["../out", "in"]);
        let heredoc = parse("cat <<EOF > notes\n> body\nEOF");
        assert_eq!(heredoc.commands[0].redirects, ["notes"]);
    }

    #[test]
    fn command_prefix_uses_the_longest_listed_prefix() {
        assert_eq!(command_prefix(&["git", "checkout", "main"]), "git checkout");
        assert_eq!(
            command_prefix(&["git", "config", "user.name", "x"]),
            "git config user.name"
        );
        assert_eq!(command_prefix(&["git", "-C", "x"]), "git -C");
        assert_eq!(command_prefix(&["aws", "s3", "ls", "b"]), "aws s3 ls");
        assert_eq!(command_prefix(&["ls", "-la"]), "ls");
        assert_eq!(command_prefix(&["frobnicate", "x"]), "frobnicate");
        assert_eq!(command_prefix::<&str>(&[]), "");
        assert_eq!(command_prefix(&["npm"]), "npm");
    }

    #[test]
    fn arity_keys_are_unique_and_short() {
        for (i, (key, _)) in ARITY.iter().enumerate() {
            assert!(key.split(' ').count() <= MAX_ARITY_KEY_WORDS, "{key}");
            assert!(!ARITY[i + 1..].iter().any(|(k, _)| k == key), "{key} twice");
        }
    }

    #[test]
    fn redirect_after_a_list_binds_to_its_last_command() {
        let texts: Vec<String> = parse("a && b > out")
            .commands
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(texts, ["a", "b > out"]);
    }

    #[test]
    fn extra_redirect_words_are_arguments() {
        let parsed = parse("rm 2>/dev/null -rf /etc");
        assert_eq!(parsed.commands[0].args, ["-rf", "/etc"]);
        assert_eq!(parsed.directories, ["/etc"]);
    }

    #[test]
    fn quotes_and_escapes_are_removed_expansions_kept() {
        let parsed = parse(r#"echo "a $b" 'c d' e\ f --x="y z" $'t\tu' -5"#);
        assert_eq!(
            parsed.commands[0].args,
            ["a $b", "c d", "e f", "--x=y z", "t\tu", "-5"]
        );
    }

    #[test]
    fn heredoc_body_is_not_part_of_the_text() {
        let parsed = parse("cat <<EOF > out\nhello\nEOF");
        assert_eq!(parsed.commands[0].text, "cat <<EOF > out");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // Subshells nest the tree 5000 deep around one command: walked without recursion.
        let command = "( ".repeat(5_000) + "ls" + &" )".repeat(5_000);
        let parsed = parse(&command);
        assert_eq!(parsed.commands.last().map(|c| c.name.as_str()), Some("ls"));
        // Substitutions nest commands: their texts would add up to 37 MB, so it is refused.
        let command = "$(".repeat(5_000) + "ls" + &")".repeat(5_000);
        let err = parse_bash(&command, "/").unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidArgument);
    }

    #[test]
    fn empty_and_nul_input_never_fail() {
        assert!(parse("").commands.is_empty());
        assert_eq!(parse("echo a\0b").commands.len(), 1);
    }
}
