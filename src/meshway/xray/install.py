"""Put the daemon's modules where the container's user (the seed's 1337) can run them.

Containers drop to their uid before exec, so the folder and every directory above it must be
searchable by others (as for the Envoy sidecar, runtime-spike.md §2): `<data-dir>/xray` when the
data dir is reachable, else /var/lib/meshway/xray. The modules are copied side by side (each
imports its siblings by plain name there) and run by the system interpreter. Runs as root, once
per server start.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIR = Path("/var/lib/meshway/xray")
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter lives under root's home
MODULES = ("batching", "daemon", "framing", "proxy", "settings", "signing", "uplink")
# AWS's image binds both sockets on every address (xray.md §1.1: the Dockerfile's
# `-t 0.0.0.0:2000 -b 0.0.0.0:2000`). Meshway's binds loopback: every container of a task shares
# its network namespace, so Envoy and the apps reach 127.0.0.1:2000 all the same, and no other
# task can feed or query this task's daemon (issue 9: the daemon's ports stay inside the task).
# A container's command adds flags after these (a later -b/-t wins).
IMAGE_ARGS = ("-t", "127.0.0.1:2000", "-b", "127.0.0.1:2000")


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonFiles:
    python: str
    daemon: str

    def argv(self, endpoint: str, account: str = "") -> tuple[str, ...]:
        """The built-in image's entry point for a task of `account`."""
        extra = ("--account", account) if account else ()
        return (self.python, "-E", "-s", self.daemon, *IMAGE_ARGS,
                "--default-endpoint", endpoint, *extra)  # fmt: skip


def _searchable(folder: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))


def folder_for(data_dir: Path) -> Path:
    data = data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    return data / "xray" if _searchable(data) else SYSTEM_DIR


def _place(source: Path, target: Path) -> None:
    """Atomically, so a daemon starting meanwhile never reads half a module."""
    text = source.read_bytes()
    if target.exists() and target.read_bytes() == text:
        return
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(text)
    Path(temporary).chmod(0o644)
    Path(temporary).replace(target)


def install(data_dir: Path) -> DaemonFiles:
    folder = folder_for(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    here = Path(__file__).parent
    for name in MODULES:
        _place(here / f"{name}.py", folder / f"{name}.py")
    return DaemonFiles(python=SYSTEM_PYTHON, daemon=str(folder / "daemon.py"))
