"""parse_bash and command_prefix on both backends, and their parity on generated command lines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ironcode import ffi
from ironcode.twin import shell as twin

ROOT = Path(__file__).resolve().parent.parent


def names(parsed: dict) -> list[str]:
    return [c["name"] for c in parsed["commands"]]


# ---- the examples ------------------------------------------------------------------


def test_git_log_is_allowed_as_git_log_star(impl):
    assert impl.parse_bash("git log --oneline -5", "/")["always"] == ["git log *"]


def test_each_command_of_a_list_is_its_own_pattern(impl):
    assert impl.parse_bash("echo foo && echo bar", "/")["patterns"] == ["echo foo", "echo bar"]


def test_pattern_keeps_the_redirection(impl):
    parsed = impl.parse_bash("cat > /tmp/out.txt", "/")
    assert parsed["patterns"] == ["cat > /tmp/out.txt"]
    assert parsed["commands"] == [
        {"name": "cat", "args": [], "text": "cat > /tmp/out.txt", "redirects": ["/tmp/out.txt"]}
    ]


def test_cd_up_from_an_existing_folder_reports_the_parent(impl, tmp_path):
    (tmp_path / "p" / "q").mkdir(parents=True)
    parsed = impl.parse_bash("cd ../", str(tmp_path / "p" / "q"))
    assert parsed["directories"] == [str(tmp_path / "p")]
    assert parsed["patterns"] == [] and parsed["always"] == []


def test_empty_command_gives_empty_lists(impl):
    assert impl.parse_bash("", "/") == {"commands": [], "directories": [], "patterns": [], "always": []}


@pytest.mark.parametrize(
    "command",
    [
        'echo "unterminated',
        "echo 'open",
        "if then fi ((",
        ")))",
        "cat <<EOF",
        "for do done",
        "$(",
        "`",
        "a\0b",
    ],
)
def test_unparseable_input_gives_a_partial_result_not_an_error(impl, command):
    parsed = impl.parse_bash(command, "/")
    assert set(parsed) == {"commands", "directories", "patterns", "always"}


def test_unterminated_quote_still_reports_the_command_before_it(impl):
    assert names(impl.parse_bash('ls -la; echo "unterminated', "/"))[0] == "ls"


# ---- every command node counts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("a | b | c", ["a", "b", "c"]),
        ("a && b || c; d", ["a", "b", "c", "d"]),
        ("(a; b) && { c; }", ["a", "b", "c"]),
        ("for f in *.ts; do echo $f; cat $f; done", ["echo", "cat"]),
        ("while true; do a; done", ["true", "a"]),
        ("if a; then b; elif c; then d; else e; fi", ["a", "b", "c", "d", "e"]),
        ("echo $(ls $(pwd)) `whoami`", ["echo", "ls", "pwd", "whoami"]),
        ("diff <(a) <(b)", ["diff", "a", "b"]),
        ("cat <<EOF | grep x\nbody\nEOF\nwc", ["cat", "grep", "wc"]),
        ("cat <<EOF && rm y\nbody\nEOF", ["cat", "rm"]),
        ("f() { inner; }; f", ["inner", "f"]),
        ("! a | b", ["a", "b"]),
        ("case $x in a) b;; *) c;; esac", ["b", "c"]),
    ],
)
def test_commands_are_found_wherever_they_sit(impl, command, expected):
    assert names(impl.parse_bash(command, "/")) == expected


def test_redirect_after_a_list_belongs_to_its_last_command(impl):
    texts = [c["text"] for c in impl.parse_bash("a && b > out", "/")["commands"]]
    assert texts == ["a", "b > out"]


def test_redirect_after_a_pipeline_belongs_to_its_last_command(impl):
    texts = [c["text"] for c in impl.parse_bash("a | b 2>&1 | c > out", "/")["commands"]]
    assert texts == ["a", "b 2>&1", "c > out"]


def test_redirect_after_a_group_belongs_to_no_single_command(impl):
    texts = [c["text"] for c in impl.parse_bash("{ a; b; } > out", "/")["commands"]]
    assert texts == ["a", "b"]


def test_heredoc_body_is_left_out_of_the_command_text(impl):
    parsed = impl.parse_bash("cat <<EOF > out.txt\nsecret $x\nEOF", "/")
    assert parsed["commands"][0]["text"] == "cat <<EOF > out.txt"


def test_words_after_a_redirection_target_are_arguments_as_bash_binds_them(impl, tmp_path):
    (tmp_path / "victim").mkdir()
    parsed = impl.parse_bash(f"rm 2>/dev/null -rf {tmp_path}/victim", "/")
    assert parsed["commands"][0]["args"] == ["-rf", f"{tmp_path}/victim"]
    assert parsed["directories"] == [f"{tmp_path}/victim"]


# ---- arguments -------------------------------------------------------------------------------


def test_arguments_lose_quotes_and_escapes_but_keep_expansions(impl):
    command = r"""printf "a $b" 'c d' e\ f --x="y z" $'t\tu' "q\"r" "\w" -5 ${v:-w} $((1+2)) {1..3}"""
    args = impl.parse_bash(command, "/")["commands"][0]["args"]
    assert args == [
        "a $b",
        "c d",
        "e f",
        "--x=y z",
        "t\tu",
        'q"r',
        "\\w",
        "-5",
        "${v:-w}",
        "$((1+2))",
        "{1..3}",
    ]


def test_a_negative_number_is_still_an_argument(impl):
    assert impl.parse_bash("head -5 f", "/")["commands"][0]["args"] == ["-5", "f"]


def test_quoted_command_name_is_unquoted(impl):
    assert names(impl.parse_bash("'ls' -la; \\rm x", "/")) == ["ls", "rm"]


# ---- redirection targets ---------------------------------------------------------------------


def redirects(parsed: dict) -> list[list[str]]:
    return [c["redirects"] for c in parsed["commands"]]


def test_redirection_targets_are_listed_per_command_in_order(impl):
    parsed = impl.parse_bash("echo x > ../out 2>> err.log < in.txt", "/")
    assert redirects(parsed) == [["../out", "err.log", "in.txt"]]


def test_descriptor_copies_and_closes_name_no_file(impl):
    assert redirects(impl.parse_bash("make 2>&1 >&2 <&0 >&-", "/")) == [[]]


def test_both_streams_and_clobber_redirections_name_their_file(impl):
    assert redirects(impl.parse_bash("a &> all.log; b >| forced; c &>> more", "/")) == [
        ["all.log"],
        ["forced"],
        ["more"],
    ]


def test_a_redirection_inside_a_heredoc_is_listed_and_its_body_is_not(impl):
    parsed = impl.parse_bash("cat <<'EOF' > '../notes.txt'\n> not/a/target\nEOF", "/")
    assert redirects(parsed) == [["../notes.txt"]]


def test_a_redirection_after_a_list_belongs_to_its_last_command(impl):
    assert redirects(impl.parse_bash("a && b > out", "/")) == [[], ["out"]]


def test_redirection_targets_are_unquoted_and_keep_expansions(impl):
    assert redirects(impl.parse_bash('echo > "my file" 2> $LOG', "/")) == [["my file", "$LOG"]]


def test_extra_redirection_words_stay_arguments_not_targets(impl):
    parsed = impl.parse_bash("rm 2>/dev/null -rf victim", "/")
    assert parsed["commands"][0]["args"] == ["-rf", "victim"]
    assert redirects(parsed) == [["/dev/null"]]


# ---- directories -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    for folder in ("src", "build", "a/b"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "f.txt").write_text("x")
    return tmp_path


def test_file_command_arguments_become_folders(impl, project):
    parsed = impl.parse_bash(
        "rm -rf build/* && mkdir -p new/dir && touch f.txt && cp src/x.py a/b", str(project)
    )
    assert parsed["directories"] == [
        str(project / "build"),
        str(project / "new"),
        str(project),
        str(project / "src"),
        str(project / "a" / "b"),
    ]


def test_paths_are_cut_at_the_first_glob_character(impl, project):
    parsed = impl.parse_bash("cat src/a?.txt; rm [ab]*; rm a/x*", str(project))
    assert parsed["directories"] == [str(project / "src"), str(project), str(project / "a")]


def test_dynamic_arguments_are_skipped(impl, project):
    parsed = impl.parse_bash('rm $HOME/x "$(pwd)/y" `pwd`/z ${D}', str(project))
    assert parsed["directories"] == []


def test_tilde_is_the_home_folder(impl, project, monkeypatch):
    monkeypatch.setenv("HOME", str(project))
    parsed = impl.parse_bash("cd ~/src; cd ~; cd ~nobody/x", "/")
    assert parsed["directories"] == [str(project / "src"), str(project), "/~nobody"]


def test_flags_and_chmod_modes_are_not_paths(impl, project):
    parsed = impl.parse_bash("chmod +x src/run.sh; rm -rf -- -", str(project))
    assert parsed["directories"] == [str(project / "src")]


def test_symlinks_are_not_followed_when_resolving(impl, project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "deep"
    elsewhere.mkdir()
    (project / "link").symlink_to(elsewhere)
    assert impl.parse_bash("cd link/..", str(project))["directories"] == [str(project)]


def test_only_file_commands_report_folders(impl, project):
    assert impl.parse_bash("ls src; grep -r x build; python a/b", str(project))["directories"] == []


def test_duplicates_keep_their_first_occurrence(impl, project):
    parsed = impl.parse_bash("rm src/a; echo x; rm src/b; echo x; rm src/a", str(project))
    assert parsed["directories"] == [str(project / "src")]
    assert parsed["patterns"] == ["rm src/a", "echo x", "rm src/b"]
    assert parsed["always"] == ["rm *", "echo *"]


def test_relative_cwd_is_resolved_against_the_current_folder(impl, project, monkeypatch):
    monkeypatch.chdir(project)
    assert impl.parse_bash("cd src", ".")["directories"] == [str(project / "src")]


def test_cd_like_commands_have_no_patterns(impl, project):
    parsed = impl.parse_bash("cd src && pushd a && popd && chdir b", str(project))
    assert parsed["patterns"] == [] and parsed["always"] == []


# ---- command_prefix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["git", "checkout", "main"], "git checkout"),
        (["git", "-C", "x", "status"], "git -C"),
        (["git", "config", "user.name", "me"], "git config user.name"),
        (["git", "remote", "add", "origin"], "git remote add"),
        (["git", "stash", "pop"], "git stash pop"),
        (["npm", "run", "dev"], "npm run dev"),
        (["npm", "install"], "npm install"),
        (["npm", "exec", "vite", "x"], "npm exec vite"),
        (["docker", "compose", "up", "-d"], "docker compose up"),
        (["docker", "image", "prune"], "docker image prune"),
        (["docker", "ps"], "docker ps"),
        (["cargo", "run", "--release"], "cargo run --release"),
        (["cargo", "add", "tokio"], "cargo add tokio"),
        (["cargo", "build"], "cargo build"),
        (["bun", "run", "test"], "bun run test"),
        (["pnpm", "run", "build"], "pnpm run build"),
        (["yarn", "run", "lint"], "yarn run lint"),
        (["kubectl", "rollout", "restart", "deploy"], "kubectl rollout restart"),
        (["kubectl", "get", "pods"], "kubectl get"),
        (["terraform", "workspace", "select", "prod"], "terraform workspace select"),
        (["terraform", "apply"], "terraform apply"),
        (["aws", "s3", "ls", "bucket"], "aws s3 ls"),
        (["gcloud", "compute", "instances", "list"], "gcloud compute instances"),
        (["gh", "pr", "list"], "gh pr list"),
        (["az", "vm", "list"], "az vm list"),
        (["doctl", "k8s", "cluster", "list"], "doctl k8s cluster"),
        (["sfdx", "force:org:list"], "sfdx force:org:list"),
        (["pip", "install", "x"], "pip install"),
        (["python", "-m", "pytest"], "python -m"),
        (["make", "test"], "make test"),
        (["go", "test", "./..."], "go test"),
        (["helm", "install", "x"], "helm install"),
        (["ls", "-la"], "ls"),
        (["cat", "f"], "cat"),
        (["rm", "-rf", "x"], "rm"),
        (["echo", "hi"], "echo"),
        (["grep", "-r", "x"], "grep"),
        (["unknown-tool", "sub", "x"], "unknown-tool"),
        (["git"], "git"),
        ([], ""),
    ],
)
def test_command_prefix_uses_the_arity_table(impl, tokens, expected):
    assert impl.command_prefix(tokens) == expected


def test_always_is_the_prefix_and_a_star(impl):
    parsed = impl.parse_bash("docker compose up -d; npm run dev -- --port 3", "/")
    assert parsed["always"] == ["docker compose up *", "npm run dev *"]


def test_both_backends_use_the_same_grammar_and_runtime_line():
    # Parity rests on this: another grammar version parses some inputs differently. If it fails,
    # pin tree-sitter-bash in pyproject.toml to the crate's version (or move both together).
    from importlib.metadata import version

    manifest = (ROOT / "native" / "tool" / "Cargo.toml").read_text()
    grammar = re.search(r'^tree-sitter-bash = "=([\d.]+)"', manifest, re.M).group(1)
    runtime = re.search(r'^tree-sitter = \{ version = "([\d.]+)"', manifest, re.M).group(1)
    assert version("tree-sitter-bash") == grammar
    assert version("tree-sitter").split(".")[:2] == runtime.split(".")[:2]


def test_arity_tables_of_both_backends_are_the_same():
    source = (ROOT / "native" / "tool" / "src" / "shell.rs").read_text()
    block = source[source.index("pub const ARITY") :]
    block = block[: block.index("];")]
    native_table = {key: int(n) for key, n in re.findall(r'\("([^"]+)", (\d+)\)', block)}
    assert native_table == twin.ARITY


# ---- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "cwd"),
    [("ls", ""), ("ls", "/tmp\0x"), ("ls\ud800", "/"), (b"ls \xff", "/"), (42, "/"), (None, "/")],
)
def test_unusable_arguments_are_invalid(impl, expect_error, command, cwd):
    expect_error("invalid_argument", impl.parse_bash, command, cwd)


@pytest.mark.parametrize("tokens", ["git", b"git", None, 5, ["git", 1], ["git", None], ["\ud800"], [b"git"]])
def test_command_prefix_wants_a_list_of_strings(impl, expect_error, tokens):
    expect_error("invalid_argument", impl.command_prefix, tokens)


def test_bytes_command_is_accepted_as_utf8(impl):
    assert names(impl.parse_bash("ls é".encode(), "/")) == ["ls"]


def test_huge_command_is_parsed(impl):
    command = " && ".join(f"echo {i}" for i in range(20_000))
    parsed = impl.parse_bash(command, "/")
    assert len(parsed["commands"]) == 20_000 and parsed["always"] == ["echo *"]


def test_deep_nesting_does_not_exhaust_the_stack(impl):
    parsed = impl.parse_bash("echo " + "$(" * 3000 + "ls" + ")" * 3000, "/")
    assert names(parsed)[0] == "echo" and names(parsed)[-1] == "ls"


def test_parsing_from_many_threads_at_once_gives_the_same_answers(impl):
    from concurrent.futures import ThreadPoolExecutor

    commands = [f"cd /tmp && git log -{i} | grep x{i} > out{i}" for i in range(200)]
    expected = [impl.parse_bash(c, "/") for c in commands]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda c: impl.parse_bash(c, "/"), commands)) == expected


# ---- parity ----------------------------------------------------------------------------------


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except Exception as e:  # noqa: BLE001 - the kind is what is compared
        return ("error", getattr(e, "kind", type(e).__name__))


@pytest.fixture(scope="module")
def parity_cwd(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("parity")
    for folder in ("src", "build", "a/b", "p/q"):
        (root / folder).mkdir(parents=True)
    (root / "f.txt").write_text("x")
    return str(root / "p" / "q")


LITERALS = [
    "ls", "git", "rm", "cd", "cat", "cp", "mv", "mkdir", "touch", "chmod", "chown", "echo", "npm", "docker",
    "-rf", "-5", "--", "+x", "src", "src/*.py", "build/", "a/b", "../..", "..", "../", ".", "/", "/tmp", "~",
    "~/x", "~root", "f.txt", "*", "?", "[ab]", "a\\ b", "\\$x", "\\", "$HOME", "${x:-y}", "$(pwd)", "`ls`",
    "$((1+2))", "{1..3}", "<(ls)", "é", "日本", "--flag=x", "X=1", "run", "compose", "config", "#c", "2>&1",
]  # fmt: skip

TEXT = st.text(
    alphabet=st.sampled_from(list("ab -*?[]~/.$`'\"\\{}()<>|&;=#\n\t\0é日") + ["\r", "\x7f"]), max_size=6
)
WORD = st.one_of(
    st.sampled_from(LITERALS),
    TEXT.filter(bool),
    TEXT.map(lambda s: f'"{s}"'),
    TEXT.map(lambda s: f"'{s}'"),
    TEXT.map(lambda s: f"$'{s}'"),
    st.tuples(st.sampled_from(LITERALS), TEXT).map("".join),
)
REDIRECT = st.tuples(st.sampled_from([">", ">>", "2>", "<", "&>", "2>&1 ", ">| ", "<<< ", "1>"]), WORD).map(
    "".join
)
COMMAND = st.builds(
    lambda name, args, redirects: " ".join([name, *args, *redirects]),
    WORD,
    st.lists(WORD, max_size=4),
    st.lists(REDIRECT, max_size=2),
)


def _compound(inner):
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(lambda p: f"{p[0]} | {p[1]}"),
        pair.map(lambda p: f"{p[0]} && {p[1]}"),
        pair.map(lambda p: f"{p[0]} || {p[1]}"),
        pair.map(lambda p: f"{p[0]}; {p[1]}"),
        pair.map(lambda p: f"{p[0]}\n{p[1]}"),
        inner.map(lambda a: f"( {a} )"),
        inner.map(lambda a: f"{{ {a}; }}"),
        inner.map(lambda a: f"echo $({a}) `{a}`"),
        inner.map(lambda a: f"for x in a b; do {a}; done"),
        pair.map(lambda p: f"while {p[0]}; do {p[1]}; done"),
        pair.map(lambda p: f"if {p[0]}; then {p[1]}; else {p[0]}; fi"),
        st.tuples(inner, REDIRECT).map(lambda p: f"{p[0]} {p[1]}"),
        inner.map(lambda a: f"! {a}"),
        st.tuples(inner, TEXT, st.sampled_from(["", " | wc", " && rm x", " > out"])).map(
            lambda p: f"cat <<EOF{p[2]}\n{p[1]}\nEOF\n{p[0]}"
        ),
        st.tuples(inner, TEXT).map(lambda p: f"cat <<'END' {p[0]}\n{p[1]}\nEND"),
    )


STATEMENT = st.recursive(COMMAND, _compound, max_leaves=6)
COMMAND_LINE = st.one_of(
    STATEMENT,
    st.tuples(STATEMENT, st.integers(0, 80)).map(lambda p: p[0][: p[1]]),  # cut anywhere: open quotes
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=COMMAND_LINE)
def test_both_backends_parse_every_command_line_alike(parity_cwd, command):
    assert outcome(ffi.parse_bash, command, parity_cwd) == outcome(twin.parse_bash, command, parity_cwd)


@settings(max_examples=200, deadline=None)
@given(
    tokens=st.lists(
        st.one_of(
            st.sampled_from([*{w for key in twin.ARITY for w in key.split()}, "-C", ""]), st.text(max_size=5)
        ),
        max_size=5,
    )
)
def test_both_backends_give_the_same_prefix(tokens):
    assert outcome(ffi.command_prefix, tokens) == outcome(twin.command_prefix, tokens)


@pytest.mark.parametrize("key", sorted(twin.ARITY))
def test_every_arity_entry_gives_the_same_prefix_on_both_backends(key):
    tokens = [*key.split(), "one", "two", "three"]
    assert ffi.command_prefix(tokens) == twin.command_prefix(tokens)
    assert len(twin.command_prefix(tokens).split()) == twin.ARITY[key]


def test_home_directory_expansion_is_the_same_on_both_backends(monkeypatch, parity_cwd):
    monkeypatch.setenv("HOME", os.path.dirname(parity_cwd))
    assert ffi.parse_bash("cd ~/q ~", "/") == twin.parse_bash("cd ~/q ~", "/")
    monkeypatch.delenv("HOME")
    assert ffi.parse_bash("cd ~/q ~", "/") == twin.parse_bash("cd ~/q ~", "/")
