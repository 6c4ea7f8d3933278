"""ECS `user` → (uid, gid, supplementary groups, home), resolved the way Docker resolves it.

Pure: the caller passes the text of passwd and group files (the host's, since containers here
run on the host's filesystem). Docker's rules (moby/sys/user GetExecUser):
- `user` or `uid`, optionally `:group` or `:gid`; an empty user is root.
- A name must exist in passwd; a bare uid without an entry runs with gid 0 and home `/`.
- An explicit group must exist in group unless it is numeric; it replaces the primary gid and
  then there are no supplementary groups. Without one, the supplementary groups are those
  listing the user's name as a member.
Unknown names fail with Docker's words, which ECS puts after `CannotStartContainerError: `:
`Error response from daemon: unable to find user X: no matching entries in passwd file`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ID_MAX = 2**31 - 1  # moby/sys/user: ids must be in 0..MaxInt32


class UserError(ValueError):
    """A user or group Docker could not resolve; str() is Docker's daemon message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    home: str = "/"
    name: str = ""


@dataclass(frozen=True, slots=True)
class _Passwd:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    gid: int
    members: tuple[str, ...]


def _fields(text: str, count: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= count:
            rows.append(parts)
    return rows


def parse_passwd(text: str) -> list[_Passwd]:
    out = []
    for p in _fields(text, 7):
        if p[2].isdigit() and p[3].isdigit():
            out.append(_Passwd(p[0], int(p[2]), int(p[3]), p[5]))
    return out


def parse_group(text: str) -> list[_Group]:
    return [
        _Group(p[0], int(p[2]), tuple(m for m in p[3].split(",") if m))
        for p in _fields(text, 4)
        if p[2].isdigit()
    ]


def _numeric(text: str) -> int | None:
    if not text.isdigit():
        return None
    value = int(text)
    if value > ID_MAX:
        raise UserError(f"Error response from daemon: uids and gids must be in range 0-{ID_MAX}")
    return value


def _find_user(arg: str, passwd: Sequence[_Passwd]) -> Identity:
    uid = _numeric(arg)
    # A numeric argument is always a uid, never a name (as in Docker).
    entry = next((p for p in passwd if (p.uid == uid if uid is not None else p.name == arg)), None)
    if entry is not None:
        return Identity(uid=entry.uid, gid=entry.gid, home=entry.home, name=entry.name)
    if uid is None:
        raise UserError(
            f"Error response from daemon: unable to find user {arg}: "
            "no matching entries in passwd file"
        )
    return Identity(uid=uid, gid=0)


def _find_group(arg: str, groups: Sequence[_Group]) -> int:
    gid = _numeric(arg)
    entry = next((g for g in groups if (g.gid == gid if gid is not None else g.name == arg)), None)
    if entry is not None:
        return entry.gid
    if gid is None:
        raise UserError(
            f"Error response from daemon: unable to find group {arg}: "
            "no matching entries in group file"
        )
    return gid


def resolve_user(spec: str | None, passwd_text: str, group_text: str) -> Identity:
    user_arg, _, group_arg = (spec or "").partition(":")
    passwd, groups = parse_passwd(passwd_text), parse_group(group_text)
    found = _find_user(user_arg or "0", passwd)
    if group_arg:
        return Identity(
            uid=found.uid, gid=_find_group(group_arg, groups), home=found.home, name=found.name
        )
    supplementary = tuple(g.gid for g in groups if found.name and found.name in g.members)
    return Identity(
        uid=found.uid, gid=found.gid, groups=supplementary, home=found.home, name=found.name
    )


def resolve_host_user(spec: str | None, etc: Path = Path("/etc")) -> Identity:
    """`resolve_user` against this host's /etc/passwd and /etc/group."""
    return resolve_user(spec, (etc / "passwd").read_text(), (etc / "group").read_text())
