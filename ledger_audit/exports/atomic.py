"""Write a whole file or nothing: a temporary name in the same folder, then a rename."""

from __future__ import annotations

from pathlib import Path


def write_text_atomic(path: Path, text: str, *, newline: str = "\n") -> Path:
    """Write ``text`` (UTF-8, each line ending written as ``newline``) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
    partial.replace(path)
    return path
