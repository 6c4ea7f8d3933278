"""Files only the server's user may read: the data directory holds the store, addresses and
runtime state, none of which other users of the host have any business reading (issue 9)."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600


def ensure_private_file(path: Path) -> None:
    """Create `path` empty and 0600 if it is missing, else make it 0600: whatever then opens
    it (SQLite, which gives its WAL and shared-memory files the database's mode) keeps that."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def write_private(path: Path, text: str) -> None:
    """`path.write_text(text)`, but 0600 whatever the umask."""
    ensure_private_file(path)
    path.write_text(text)
