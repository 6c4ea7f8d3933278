"""ECS `user` in every form, resolved with Docker's rules against given passwd/group text."""

from __future__ import annotations

import pytest

from meshway.runtime.users import Identity, UserError, resolve_host_user, resolve_user

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
envoy:x:1337:1337::/home/envoy:/bin/sh
app:x:1000:1000:App:/srv/app:/bin/sh
# a comment line
"""
GROUP = """\
root:x:0:
daemon:x:1:
envoy:x:1337:
app:x:1000:
audio:x:29:app
video:x:44:app,envoy
2000:x:3000:
"""


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, Identity(uid=0, gid=0, home="/root", name="root")),
        ("", Identity(uid=0, gid=0, home="/root", name="root")),
        ("app", Identity(uid=1000, gid=1000, groups=(29, 44), home="/srv/app", name="app")),
        ("1337", Identity(uid=1337, gid=1337, groups=(44,), home="/home/envoy", name="envoy")),
        ("1337:1337", Identity(uid=1337, gid=1337, home="/home/envoy", name="envoy")),
        ("app:video", Identity(uid=1000, gid=44, home="/srv/app", name="app")),
        ("1000:audio", Identity(uid=1000, gid=29, home="/srv/app", name="app")),
        ("envoy:4242", Identity(uid=1337, gid=4242, home="/home/envoy", name="envoy")),
    ],
)
def test_every_ecs_user_form_resolves_as_docker_does(spec: str | None, expected: Identity) -> None:
    assert resolve_user(spec, PASSWD, GROUP) == expected


def test_a_bare_uid_without_a_passwd_entry_runs_with_gid_zero() -> None:
    assert resolve_user("4321", PASSWD, GROUP) == Identity(uid=4321, gid=0, home="/")


def test_a_bare_uid_with_an_explicit_gid_keeps_it() -> None:
    assert resolve_user("4321:77", PASSWD, GROUP) == Identity(uid=4321, gid=77, home="/")


def test_a_numeric_group_is_a_gid_even_when_a_group_is_named_like_it() -> None:
    assert resolve_user("app:2000", PASSWD, GROUP).gid == 2000


def test_an_unknown_user_name_fails_with_dockers_words() -> None:
    with pytest.raises(UserError) as caught:
        resolve_user("nosuchuser", PASSWD, GROUP)
    assert str(caught.value) == (
        "Error response from daemon: unable to find user nosuchuser: "
        "no matching entries in passwd file"
    )


def test_an_unknown_group_name_fails_with_dockers_words() -> None:
    with pytest.raises(UserError) as caught:
        resolve_user("app:nosuchgroup", PASSWD, GROUP)
    assert str(caught.value) == (
        "Error response from daemon: unable to find group nosuchgroup: "
        "no matching entries in group file"
    )


def test_an_id_beyond_int32_is_out_of_range() -> None:
    with pytest.raises(UserError, match="must be in range 0-2147483647"):
        resolve_user("2147483648", PASSWD, GROUP)


def test_the_hosts_own_files_resolve_root() -> None:
    assert resolve_host_user("0").uid == 0
    assert resolve_host_user("root:root") == Identity(uid=0, gid=0, home="/root", name="root")
