"""Local file primitives: checksums, line counts, atomic JSON writes and symlink swaps.

The standard library does each of these in a few lines; what it does not give is the
atomicity (a temporary file or link, then os.replace) every writer here relies on, so a reader
never sees half a report or a missing `silver/sales` link.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CHUNK = 1 << 24


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def count_lines(path: Path) -> int:
    """Physical lines in a file: newline characters, plus an unterminated last line."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def append_json_line(path: Path, payload: dict[str, Any]) -> None:
    """Append one JSON object as a line (a log of runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(payload) + "\n")


def swap_symlink(link: Path, target: Path) -> Path | None:
    """Point `link` at `target` in one atomic rename; return the previous target."""
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        # A real directory from an older layout: move it aside, the swap then proceeds.
        link.rename(link.with_name(link.name + ".old"))
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)
    return previous
