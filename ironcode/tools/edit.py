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


def format_edit(result: dict) -> str:
    """A one-line summary and the diff (empty when the text did not change)."""
    head = (
        f"Edit applied successfully to {result['path']} "
        f"(+{result['additions']} -{result['deletions']} lines)."
    )
    diff = result["diff"].rstrip("\n")
    return f"{head}\n\n{diff}" if diff else head
