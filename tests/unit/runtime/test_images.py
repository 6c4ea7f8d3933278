"""The image catalog: matching with and without tags, Docker's override rules, built-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshway.runtime.images import (
    DEFAULT_PATH,
    Catalog,
    CatalogError,
    Image,
    ImageKind,
    NoCommandError,
    UnknownImage,
    load_catalog,
    parse_catalog,
    resolve,
    split_reference,
)

CATALOG = parse_catalog(
    {
        "images": {
            "colorteller": {"command": ["python3", "-m", "app"], "environment": {"PORT": "9080"}},
            "gateway:v2": {"entryPoint": ["/usr/bin/gw"], "command": ["--v2"]},
            "gateway:v1": {"entryPoint": ["/usr/bin/gw"], "command": ["--v1"]},
            "registry.local:5000/team/tool": {"command": ["tool"]},
            "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod": {
                "command": ["/opt/standin"]
            },
        }
    }
)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx", ("nginx", "")),
        ("nginx:1.25", ("nginx", "1.25")),
        ("registry.local:5000/team/tool", ("registry.local:5000/team/tool", "")),
        ("registry.local:5000/team/tool:3", ("registry.local:5000/team/tool", "3")),
        ("app@sha256:abc", ("app", "@sha256:abc")),
    ],
)
def test_references_split_into_repository_and_tag(
    reference: str, expected: tuple[str, str]
) -> None:
    assert split_reference(reference) == expected


def test_a_name_without_tag_matches_every_tag() -> None:
    for ref in ("colorteller", "colorteller:latest", "colorteller:v9"):
        assert CATALOG.lookup(ref).command == ("python3", "-m", "app")


def test_a_name_with_tag_matches_only_that_tag() -> None:
    assert CATALOG.lookup("gateway:v1").command == ("--v1",)
    assert CATALOG.lookup("gateway:v2").command == ("--v2",)
    with pytest.raises(UnknownImage):
        CATALOG.lookup("gateway:v3")
    with pytest.raises(UnknownImage):
        CATALOG.lookup("gateway")  # means gateway:latest


def test_a_bare_reference_matches_a_latest_entry() -> None:
    catalog = parse_catalog({"images": {"app:latest": {"command": ["a"]}}})
    assert catalog.lookup("app").command == ("a",)


def test_registry_prefixes_are_kept_as_written() -> None:
    assert CATALOG.lookup("registry.local:5000/team/tool:7").command == ("tool",)
    with pytest.raises(UnknownImage):
        CATALOG.lookup("team/tool")


def test_an_unknown_image_gives_dockers_pull_error() -> None:
    with pytest.raises(UnknownImage) as caught:
        CATALOG.lookup("nosuch/image:1.0")
    assert str(caught.value) == (
        "Error response from daemon: pull access denied for nosuch/image, repository does not "
        "exist or may require 'docker login': denied: requested access to the resource is denied"
    )


@pytest.mark.parametrize(
    ("reference", "kind"),
    [
        (
            "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.29.5.0-prod",
            ImageKind.ENVOY,
        ),
        ("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod", ImageKind.ENVOY),
        ("amazon/aws-xray-daemon", ImageKind.XRAY_DAEMON),
        ("public.ecr.aws/xray/aws-xray-daemon:3.x", ImageKind.XRAY_DAEMON),
    ],
)
def test_envoy_and_xray_images_are_built_in(reference: str, kind: ImageKind) -> None:
    assert Catalog().lookup(reference).kind is kind


def test_a_catalog_entry_overrides_the_builtin_envoy() -> None:
    image = CATALOG.lookup(
        "840364872350.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod"
    )
    assert image.kind is ImageKind.PROGRAM
    assert image.command == ("/opt/standin",)


IMAGE = Image(
    reference="x",
    entry_point=("/ep", "-a"),
    command=("cmd", "-b"),
    working_directory="/srv",
    environment={"A": "image", "B": "image"},
)


def test_image_entrypoint_and_command_run_when_the_container_gives_neither() -> None:
    assert resolve(IMAGE).argv == ("/ep", "-a", "cmd", "-b")


def test_a_container_command_replaces_the_images_command_only() -> None:
    assert resolve(IMAGE, command=["other"]).argv == ("/ep", "-a", "other")


def test_a_container_entrypoint_drops_the_images_command() -> None:
    assert resolve(IMAGE, entry_point=["/new"]).argv == ("/new",)


def test_a_container_entrypoint_and_command_replace_both() -> None:
    assert resolve(IMAGE, entry_point=["/new"], command=["x"]).argv == ("/new", "x")


def test_container_environment_wins_and_path_defaults_to_dockers() -> None:
    launch = resolve(IMAGE, environment={"B": "container", "C": "container"})
    assert launch.environment == {
        "PATH": DEFAULT_PATH,
        "A": "image",
        "B": "container",
        "C": "container",
    }
    assert resolve(IMAGE, environment={"PATH": "/bin"}).environment["PATH"] == "/bin"


def test_working_directory_comes_from_container_then_image_then_root() -> None:
    assert resolve(IMAGE, working_directory="/tmp").working_directory == "/tmp"
    assert resolve(IMAGE).working_directory == "/srv"
    assert resolve(Image(reference="y", command=("c",))).working_directory == "/"


def test_no_command_at_all_is_dockers_error() -> None:
    with pytest.raises(NoCommandError, match="No command specified"):
        resolve(Image(reference="empty"))


def test_catalog_loads_from_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "images:\n  app:\n    command: [python3, app.py]\n    environment:\n      N: 1\n"
    )
    (tmp_path / "c.json").write_text(json.dumps({"images": {"app": {"command": ["x"]}}}))
    assert load_catalog(tmp_path / "c.yaml").lookup("app").environment == {"N": "1"}
    assert load_catalog(tmp_path / "c.json").lookup("app").command == ("x",)


@pytest.mark.parametrize(
    "document",
    [
        {"images": ["app"]},
        {"images": {"app": {"command": "python3 app.py"}}},
        {"images": {"app": {"cmd": ["x"]}}},
        {"images": {"app": {"workingDirectory": 3}}},
    ],
)
def test_malformed_catalogs_are_refused(document: object) -> None:
    with pytest.raises(CatalogError):
        parse_catalog(document)
