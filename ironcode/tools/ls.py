"""The ls tool's text for a model: the files as an indented tree under the root."""

from __future__ import annotations


def format_ls(result: dict) -> str:
    """``root/`` then one line per folder and file, two spaces of indent per level."""
    lines = [f"{result['root']}/"]
    seen_dirs: set[str] = set()
    for rel in result["files"]:
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in seen_dirs:
                seen_dirs.add(folder)
                lines.append(f"{'  ' * depth}{parts[depth - 1]}/")
        lines.append(f"{'  ' * len(parts)}{parts[-1]}")
    if result["truncated"]:
        lines.append(
            f"\n(Showing the first {len(result['files'])} files. Narrow the path or raise the limit.)"
        )
    return "\n".join(lines)
