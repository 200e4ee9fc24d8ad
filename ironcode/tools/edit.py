"""The edit tool's text for a model: what changed, as a unified diff, and how big the change was.

>>> print(format_edit({"path": "/a.py", "diff": "--- /a.py\\n+++ /a.py\\n@@ -1,1 +1,1 @@\\n-x\\n+y\\n",
...                    "additions": 1, "deletions": 1}))
Edit applied successfully to /a.py (+1 -1 lines).
<BLANKLINE>
--- /a.py
+++ /a.py
@@ -1,1 +1,1 @@
-x
+y
"""

from __future__ import annotations

from ..agent import Tool, ToolResult, hints

#: How a tolerant match treats new_string's indentation (issue 22), in the model's words; the
#: edit engine's rule is in ``ironcode.edit_replace``.
REINDENT_NOTE = """- If old_string matched whole lines that differ from it only by the same leading
  whitespace on every line (too little indentation or too much), new_string is re-indented by
  that difference, so the file keeps its indentation; blank lines of new_string stay as they
  are. Indent new_string the way you indented old_string. If the lines differ by different
  amounts, new_string is inserted exactly as given."""

#: What a model is told about the tool (the parameters follow opencode's edit tool).
DESCRIPTION = f"""Performs exact string replacements in a file.

- old_string must match the file's text; small differences in indentation, surrounding
  whitespace or escaping are tolerated, but a match is only made when it is unique.
{REINDENT_NOTE}
- If old_string occurs more than once, the error lists the lines: add surrounding lines to make
  it unique, or set replace_all to change every occurrence.
- If nothing matches, the error names the most similar region of the file.
- An empty old_string creates a new file holding new_string.
- The file keeps its line endings and byte order mark."""

#: What the model reads beyond the engine's rules: the read rule and when to use another tool.
USAGE = """- The file must have been read in this session (read, or the text editor's view) and must
  not have changed since; otherwise the edit is refused and the file is untouched.
- Quote old_string from the file's text without read's "N: " line prefixes.
- Prefer edit to write for changing part of a file; use apply_patch to change several places or
  files in one call."""

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "file_path": {
            "type": "string",
            "description": "The file to change: absolute, or relative to the project's first folder.",
        },
        "old_string": {"type": "string", "description": "The text to replace (empty: create a new file)."},
        "new_string": {"type": "string", "description": "The text to put in its place."},
        "replace_all": {
            "type": "boolean",
            "description": "Replace every occurrence of old_string (default false: it must be unique).",
        },
    },
    "required": ["file_path", "old_string", "new_string"],
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "diff": {"type": "string"},
        "additions": {"type": "integer"},
        "deletions": {"type": "integer"},
    },
    "required": ["path", "diff", "additions", "deletions"],
}

TOOL = Tool(
    name="edit",
    title="Edit a file",
    description=f"{DESCRIPTION}\n{USAGE}",
    input_schema=INPUT_SCHEMA,
    output_schema=OUTPUT_SCHEMA,
    annotations=hints(destructive=True),
)


def run(box, args: dict) -> ToolResult:
    located = box.roots.resolve(args["file_path"], "file_path", writing=True)
    old, new = args["old_string"], args["new_string"]
    with box.reads.hold(located.path):
        if old:  # an empty old_string creates a file; on an existing one the engine says why not
            box.reads.check(located.path, box.version(located))
        result = box.engine(
            "edit_file", located.path, old, new, bool(args.get("replace_all", False)), root=located.root
        )
        box.remember(located)
    return ToolResult(format_edit(result), result)


def format_edit(result: dict) -> str:
    """A one-line summary and the diff (empty when the text did not change)."""
    head = (
        f"Edit applied successfully to {result['path']} "
        f"(+{result['additions']} -{result['deletions']} lines)."
    )
    diff = result["diff"].rstrip("\n")
    return f"{head}\n\n{diff}" if diff else head
