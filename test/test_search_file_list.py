"""file_list on both backends, proven equal to ``rg --files --hidden -g '!.git'``.

Trees are generated to hold every rule the walk must get right (nested .gitignore files with
negations, .ignore, .rgignore, .git/info/exclude, global excludes, parent folders, hidden files,
symlinks, odd names), plus the Python standard library in a temporary git repository as a real
tree nobody here wrote. Hypothesis checks that the two backends agree on random trees and globs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ironcode

from .helpers import run_without_root_powers
from .searchlib import git_init, isolate_git_env, make_tree, rg_files, stdlib_repo

#: A repository holding every ignore rule at once; names with spaces and Unicode too.
RULES_TREE = {
    ".gitignore": "*.log\n!keep.log\nbuild/\n!build/keep.py\n/anchored.txt\nmime/\ndrop.txt\n",
    "a.log": "",
    "keep.log": "",
    "sub/b.log": "",
    "sub/keep.log": "",
    "sub/.gitignore": "!b.log\n*.md\n",
    "sub/r.md": "",
    "build/keep.py": "",
    "build/x.py": "",
    "anchored.txt": "",
    "sub/anchored.txt": "",
    "email/mime/m.py": "",
    "email/e.py": "",
    "drop.txt": "",
    "x.swp": "",
    ".hidden/h.txt": "",
    ".env": "",
    "sp ace/ünï cödé.txt": "",
    ".ignore": "ign/\n",
    "ign/i.txt": "",
    ".rgignore": "!ign/\n",
    "other/.ignore": "o.txt\n",
    "other/o.txt": "",
    "other/p.txt": "",
    ".git/info/exclude": "excluded.txt\n",
    "excluded.txt": "",
    "deep/a/b/c.py": "",
    "Upper.TXT": "",
}

GLOB_CASES = [
    [],
    ["*.txt"],
    ["email/**"],
    ["*.log"],
    ["!*.py"],
    ["*.{py,md}"],
    ["build/**"],
    ["sub/*"],
    ["*"],
    [".git/**"],
    ["**/*.py", "!deep/**"],
    ["deep/**/*.py"],
    ["*.TXT"],
    ["*.txt", "!sub/**"],
    ["**"],
    ["[a-c]*"],
    ["?.log"],
    ["build"],
    ["/deep/**"],
]


@pytest.fixture
def git_env(tmp_path_factory, monkeypatch) -> Path:
    return isolate_git_env(tmp_path_factory, monkeypatch)


@pytest.fixture
def rules_repo(tmp_path: Path, git_env: Path) -> Path:
    make_tree(git_env, {".config/git/ignore": "*.swp\n"})
    root = git_init(tmp_path.resolve() / "repo")
    return make_tree(root, RULES_TREE)


@pytest.mark.parametrize("globs", GLOB_CASES, ids=lambda g: " ".join(g) or "no globs")
def test_file_list_equals_rg_with_every_ignore_rule_and_glob_override(impl, rules_repo, globs):
    assert impl.file_list(str(rules_repo), globs) == rg_files(rules_repo, globs)


@pytest.mark.parametrize(
    "globs", [[], ["*.txt"], ["email/**"], ["!*.py"]], ids=lambda g: " ".join(g) or "no globs"
)
def test_a_tree_large_enough_for_the_parallel_walker_equals_rg(impl, rules_repo, globs):
    # Small trees are walked on the calling thread, large ones on several: both must agree.
    for i in range(1100):
        make_tree(
            rules_repo,
            {f"pad/{i % 7}/f{i}.txt": "", f"pad/{i % 7}/g{i}.log": ""}
            if i % 50 == 0
            else {f"pad/{i % 7}/f{i}.py": ""},
        )
    files = impl.file_list(str(rules_repo), globs)
    assert files == rg_files(rules_repo, globs)


def test_default_walk_applies_each_ignore_source_with_ripgrep_precedence(impl, rules_repo):
    files = impl.file_list(str(rules_repo))
    assert "keep.log" in files and "a.log" not in files  # .gitignore negation
    assert "sub/b.log" in files and "sub/r.md" not in files  # nested .gitignore wins
    assert "build/keep.py" not in files  # build/ is never entered, so !build/keep.py cannot act
    assert "sub/anchored.txt" in files and "anchored.txt" not in files  # anchored pattern
    assert "ign/i.txt" in files  # .rgignore beats .ignore
    assert "other/p.txt" in files and "other/o.txt" not in files  # nested .ignore
    assert "excluded.txt" not in files  # .git/info/exclude
    assert "x.swp" not in files  # global excludes
    assert ".env" in files and ".hidden/h.txt" in files  # hidden files are included
    assert "sp ace/ünï cödé.txt" in files
    assert not any(f == ".git" or f.startswith(".git/") for f in files)
    assert files == sorted(files)


def test_positive_glob_enters_an_ignored_folder_and_keeps_an_ignored_file(impl, rules_repo):
    assert impl.file_list(str(rules_repo), ["email/**"]) == ["email/e.py", "email/mime/m.py"]
    assert impl.file_list(str(rules_repo), ["*.txt"]) == [
        ".hidden/h.txt",
        "anchored.txt",
        "drop.txt",
        "excluded.txt",
        "ign/i.txt",
        "other/o.txt",
        "other/p.txt",
        "sp ace/ünï cödé.txt",
        "sub/anchored.txt",
    ]
    # an ignored folder that no positive glob matches is not entered
    assert impl.file_list(str(rules_repo), ["*.py"]) == ["deep/a/b/c.py", "email/e.py"]
    # "d/**" matches what is inside d but not d itself; globs are case-sensitive
    assert impl.file_list(str(rules_repo), ["*.txt", "!sub/**"])[-1] == "sp ace/ünï cödé.txt"
    assert impl.file_list(str(rules_repo), ["*.TXT"]) == ["Upper.TXT"]


def test_git_folder_is_never_listed_even_under_a_glob_for_it(impl, rules_repo):
    for globs in (["*"], [".git/**"], ["**/config", ".git"], ["!nothing"]):
        assert not any(f.startswith(".git/") for f in impl.file_list(str(rules_repo), globs))


def test_parent_folder_ignore_files_apply_below_the_search_root(impl, tmp_path, git_env):
    root = git_init(tmp_path.resolve())
    make_tree(
        root,
        {
            ".gitignore": "*.log\n/sub/gen.txt\nsub/deep/x.txt\n",
            ".ignore": "*.tmp\n",
            "sub/a.log": "",
            "sub/gen.txt": "",
            "sub/keep.txt": "",
            "sub/t.tmp": "",
            "sub/deep/x.txt": "",
            "sub/deep/y.txt": "",
        },
    )
    sub = root / "sub"
    assert impl.file_list(str(sub)) == rg_files(sub) == ["deep/y.txt", "keep.txt"]
    deep = sub / "deep"
    assert impl.file_list(str(deep)) == rg_files(deep) == ["y.txt"]


def test_global_excludes_from_gitconfig_apply_only_inside_a_repository(impl, tmp_path, git_env):
    make_tree(
        git_env, {".gitconfig": "[core]\n\texcludesFile = ~/my-excludes\n", "my-excludes": "*.bak\nsecret/\n"}
    )
    repo = git_init(tmp_path.resolve() / "repo")
    make_tree(repo, {"a.bak": "", "b.txt": "", "secret/s.txt": "", "sub/secret/t.txt": ""})
    plain = make_tree(tmp_path.resolve() / "plain", {"a.bak": "", ".gitignore": "*.txt\n", "b.txt": ""})
    assert impl.file_list(str(repo)) == rg_files(repo) == ["b.txt"]
    # Outside a repository neither .gitignore nor the global excludes apply (.ignore would).
    assert impl.file_list(str(plain)) == rg_files(plain) == [".gitignore", "a.bak", "b.txt"]


def test_hidden_false_and_max_depth_match_rg(impl, rules_repo):
    assert impl.file_list(str(rules_repo), hidden=False) == rg_files(rules_repo, hidden=False)
    for depth in (0, 1, 2):
        assert impl.file_list(str(rules_repo), max_depth=depth) == rg_files(rules_repo, max_depth=depth)
    assert impl.file_list(str(rules_repo), max_depth=1) == [
        f for f in impl.file_list(str(rules_repo)) if "/" not in f
    ]


def test_symlinks_are_skipped_unless_followed_and_a_loop_never_hangs(impl, tmp_path, git_env):
    root = make_tree(tmp_path.resolve(), {"sub/keep.txt": "", "sub/deep/y.txt": ""})
    (root / "sub" / "loop").symlink_to("..")
    (root / "sub" / "deep" / "again").symlink_to(root)
    (root / "sub" / "link.txt").symlink_to("keep.txt")
    (root / "sub" / "broken").symlink_to("/nonexistent/target")
    assert impl.file_list(str(root)) == rg_files(root) == ["sub/deep/y.txt", "sub/keep.txt"]
    followed = impl.file_list(str(root), follow=True)
    assert followed == rg_files(root, follow=True) == ["sub/deep/y.txt", "sub/keep.txt", "sub/link.txt"]


def test_unreadable_folder_is_skipped_not_fatal(tmp_path):
    root = make_tree(tmp_path.resolve(), {"open/a.txt": "", "locked/secret.txt": "", "b.txt": ""})
    os.chmod(root / "locked", 0)
    try:
        code = (
            "import json, ironcode\n"
            "from ironcode import ffi\n"
            "from ironcode.twin import file_list as twin\n"
            f"print(json.dumps([ffi.file_list({str(root)!r}), twin.file_list({str(root)!r})]))"
        )
        native, python = json.loads(run_without_root_powers(code))
    finally:
        os.chmod(root / "locked", 0o755)
    assert native == python == ["b.txt", "open/a.txt"]


def test_bad_input_raises_a_clear_error_kind(impl, tmp_path, expect_error):
    (tmp_path / "f.txt").write_text("x")
    expect_error("not_found", impl.file_list, str(tmp_path / "missing"))
    expect_error("not_a_directory", impl.file_list, str(tmp_path / "f.txt"))
    for bad in ("{a,b", "[z-a]", "a\\", "[abc", "a}"):
        expect_error("invalid_pattern", impl.file_list, str(tmp_path), [bad])
    expect_error("invalid_argument", impl.file_list, str(tmp_path), "*.py")
    expect_error("invalid_argument", impl.file_list, str(tmp_path), None, "yes")
    expect_error("invalid_argument", impl.file_list, "")


# ---- a real tree -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stdlib(tmp_path_factory) -> Path:
    return stdlib_repo(tmp_path_factory)


def test_file_list_equals_rg_on_the_standard_library(impl, stdlib, git_env):
    files = impl.file_list(str(stdlib))
    assert len(files) > 1000
    assert files == rg_files(stdlib)
    for globs in (["*.py"], ["email/**", "!**/test*"], ["__pycache__/*.pyc"]):
        assert impl.file_list(str(stdlib), globs) == rg_files(stdlib, globs)


# ---- parity on random input --------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b.txt", "c.py", ".h", "d d", "é.md", "x.log", "build", "sub"])
IGNORE_LINES = st.sampled_from(
    [
        "a",
        "*.txt",
        "!b.txt",
        "/c.py",
        "build/",
        "!build/",
        "sub/**",
        "**/x.log",
        "*.log",
        "!*.log",
        "#comment",
        "\\#x",
        "sub/a",
        "[ab]*",
        "{a,c.py}",
        ".h",
        "d\\ d",
        "!",
        "/",
        "**",
        "*/",
    ]
)
GLOBS = st.lists(
    st.sampled_from(
        ["*.txt", "!*.py", "sub/**", "**/a", "build", "*", "!sub", "{a,b.txt}", "?.py", ".*"]
        + ["sub/a/*", "/build/**", "a/**/x.log", "sub/build/c.py", "/sub"]
    ),
    max_size=3,
)


@st.composite
def trees(draw):
    files: dict[str, str | None] = {}
    for _ in range(draw(st.integers(1, 12))):
        depth = draw(st.integers(1, 3))
        files["/".join(draw(NAMES) for _ in range(depth))] = ""
    for folder in draw(st.lists(st.sampled_from(["", "sub/", "build/", "a/"]), max_size=3, unique=True)):
        name = draw(st.sampled_from([".gitignore", ".ignore", ".rgignore"]))
        files[folder + name] = "\n".join(draw(st.lists(IGNORE_LINES, max_size=5))) + "\n"
    return files


def _build(files: dict[str, str | None], repo: bool) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ironcode-walk-")).resolve()
    for name, content in sorted(files.items()):
        path = root / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text(content or "")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # a name used as both file and folder: keep the first
    if repo:
        (root / ".git").mkdir()
    return root


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ironcode.IronCodeError as e:
        return ("error", e.kind)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=trees(), repo=st.booleans(), globs=GLOBS, hidden=st.booleans())
def test_both_backends_list_the_same_files_for_random_trees_and_globs(
    both, git_env, files, repo, globs, hidden
):
    native, python = both
    root = _build(files, repo)
    try:
        args = (str(root), globs, hidden)
        assert _outcome(native.file_list, *args) == _outcome(python.file_list, *args)
    finally:
        _remove(root)


GLOB_TEXT = st.text(alphabet="ab*?[]{},!/.\\-^:", max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(glob=GLOB_TEXT)
def test_both_backends_parse_and_match_any_glob_alike(both, glob_tree, glob):
    native, python = both
    assert _outcome(native.file_list, str(glob_tree), [glob]) == _outcome(
        python.file_list, str(glob_tree), [glob]
    )


@pytest.fixture(scope="module")
def glob_tree(tmp_path_factory) -> Path:
    names = ["a", "b", "ab", "a.b", "-", "^", "[a]", "{a,b}", "a,b", "!a", "a*", "a?", ":a:", "\\"]
    root = tmp_path_factory.mktemp("globs").resolve()
    for folder in ("", "d/", "e/f/", ".g/"):
        for name in names:
            make_tree(root, {folder + name: ""})
    return root


def _remove(root: Path) -> None:
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.unlink(os.path.join(folder, name))
        for name in dirs:
            os.rmdir(os.path.join(folder, name))
    os.rmdir(root)
