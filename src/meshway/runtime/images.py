"""The image catalog (`--images FILE`) and Docker's rules for turning image + container
definition into the program to run.

An image here is the OCI image config of a program already on this host:
`{"images": {"NAME[:TAG]": {"entryPoint": [...], "command": [...], "workingDirectory": "...",
"environment": {...}}}}` in YAML or JSON (DESIGN.md, Contracts). A key without a tag matches every
tag of that name; a key with a tag matches only that tag; registry prefixes are part of the name
as written. Two images are built in: a repository ending in `aws-appmesh-envoy` is the Envoy
sidecar and one ending in `aws-xray-daemon` the X-Ray daemon (the supervisor decides what they
run); a catalog entry for such an image wins, so tests can run a stand-in.
Pure apart from `load_catalog`, which reads the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's
ENVOY_SUFFIX = "aws-appmesh-envoy"
XRAY_SUFFIX = "aws-xray-daemon"


class ImageKind(StrEnum):
    PROGRAM = "PROGRAM"  # from the catalog
    ENVOY = "ENVOY"
    XRAY_DAEMON = "XRAY_DAEMON"


class CatalogError(ValueError):
    """The catalog file is not what DESIGN.md describes."""


class UnknownImage(LookupError):  # noqa: N818 (the name the supervisor matches on)
    """Neither the catalog nor a built-in knows the image. str() is Docker's pull error, which
    ECS reports after `CannotPullContainerError: `."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        repo = split_reference(reference)[0]
        super().__init__(
            f"Error response from daemon: pull access denied for {repo}, repository "
            "does not exist or may require 'docker login': denied: requested "
            "access to the resource is denied"
        )


class NoCommandError(ValueError):
    """Neither image nor container gives a program; ECS: `CannotCreateContainerError: ...`."""

    def __init__(self) -> None:
        super().__init__("Error response from daemon: No command specified")


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    reference: str  # as the container definition wrote it
    kind: ImageKind = ImageKind.PROGRAM
    entry_point: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    working_directory: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """What to run for one container: argv, cwd and the merged environment."""

    kind: ImageKind
    argv: tuple[str, ...]
    working_directory: str
    environment: dict[str, str]


def split_reference(reference: str) -> tuple[str, str]:
    """`registry:5000/repo:tag` → (`registry:5000/repo`, `tag`); digests count as tags;
    no tag → "" (Docker would read it as `latest`)."""
    if "@" in reference:
        repo, _, digest = reference.partition("@")
        return repo, "@" + digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, ""


def builtin_kind(reference: str) -> ImageKind | None:
    repo = split_reference(reference)[0]
    if repo.endswith(ENVOY_SUFFIX):
        return ImageKind.ENVOY
    if repo.endswith(XRAY_SUFFIX):
        return ImageKind.XRAY_DAEMON
    return None


class Catalog:
    def __init__(self, entries: Mapping[str, Image] | None = None) -> None:
        self.entries = dict(entries or {})

    def lookup(self, reference: str) -> Image:
        """Exact `NAME:TAG` first (a bare NAME means NAME:latest), then the tagless `NAME`,
        then the built-ins."""
        repo, tag = split_reference(reference)
        for key in (
            f"{repo}{tag if tag.startswith('@') else ':' + (tag or 'latest')}",
            repo,
            reference,
        ):
            if key in self.entries:
                found = self.entries[key]
                return Image(
                    reference=reference,
                    entry_point=found.entry_point,
                    command=found.command,
                    working_directory=found.working_directory,
                    environment=found.environment,
                )
        kind = builtin_kind(reference)
        if kind is None:
            raise UnknownImage(reference)
        return Image(reference=reference, kind=kind)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where} must be a list of strings")
    return tuple(value)


def _environment(value: Any, where: str) -> dict[str, str]:
    """A mapping, or the OCI config's `["K=V", ...]` list."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return dict(item.partition("=")[::2] for item in value)
    raise CatalogError(f"{where} must be a mapping of names to values")


def _image(name: str, body: Any) -> Image:
    where = f"images[{name!r}]"
    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise CatalogError(f"{where} must be a mapping")
    unknown = set(body) - {"entryPoint", "command", "workingDirectory", "environment"}
    if unknown:
        raise CatalogError(f"{where} has unknown fields {sorted(unknown)}")
    workdir = body.get("workingDirectory") or ""
    if not isinstance(workdir, str):
        raise CatalogError(f"{where}.workingDirectory must be a string")
    return Image(
        reference=name,
        entry_point=_strings(body.get("entryPoint"), where),
        command=_strings(body.get("command"), where),
        working_directory=workdir,
        environment=_environment(body.get("environment"), f"{where}.environment"),
    )


def parse_catalog(document: Any) -> Catalog:
    if document is None:
        return Catalog()
    if not isinstance(document, Mapping) or not isinstance(document.get("images", {}), Mapping):
        raise CatalogError('the image catalog must look like {"images": {"NAME[:TAG]": {...}}}')
    return Catalog({str(k): _image(str(k), v) for k, v in (document.get("images") or {}).items()})


def load_catalog(path: Path) -> Catalog:
    """YAML or JSON (JSON is YAML)."""
    try:
        return parse_catalog(yaml.safe_load(Path(path).read_text()))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: {exc}") from exc


def resolve(
    image: Image,
    *,
    entry_point: Sequence[str] | None = None,
    command: Sequence[str] | None = None,
    working_directory: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> Launch:
    """Docker's merge of container config over image config (moby daemon/create merge):
    a container entryPoint replaces the image's and drops the image's command unless the
    container gives its own; a container command replaces the image's; the container's
    variables win; PATH defaults to Docker's when neither sets it."""
    if entry_point:
        argv = (*entry_point, *(command or ()))
    else:
        argv = (*image.entry_point, *(command or image.command))
    if not argv and image.kind is ImageKind.PROGRAM:
        raise NoCommandError()  # built-ins get their program from the supervisor
    env = {"PATH": DEFAULT_PATH, **image.environment, **(environment or {})}
    return Launch(
        kind=image.kind,
        argv=tuple(argv),
        working_directory=working_directory or image.working_directory or "/",
        environment=env,
    )
