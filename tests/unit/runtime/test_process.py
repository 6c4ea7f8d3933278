"""The pure parts of process launching: exit codes as Docker reports them, ECS ulimits, the
launch command line and payload, and Docker's wording for a program that cannot start."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from meshway.runtime.process import (
    LAUNCHER,
    SPEC_ENV,
    ULIMITS,
    LaunchError,
    ProcessSpec,
    _launch_env,
    exit_status,
    launch_argv,
    rlimit_triples,
)


def test_signals_are_reported_as_128_plus_the_signal() -> None:
    assert exit_status(-15) == 143
    assert exit_status(-9) == 137
    assert exit_status(0) == 0
    assert exit_status(3) == 3


def test_every_ecs_ulimit_name_maps_to_a_linux_resource() -> None:
    ecs_names = {
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    }
    assert set(ULIMITS) == ecs_names
    assert ULIMITS["nofile"] == resource.RLIMIT_NOFILE
    assert ULIMITS["locks"] == 10  # RLIMIT_LOCKS on Linux


def test_minus_one_means_unlimited_and_unknown_names_are_refused() -> None:
    assert rlimit_triples({"core": (-1, -1), "nofile": (1024, 4096)}) == [
        (resource.RLIMIT_CORE, resource.RLIM_INFINITY, resource.RLIM_INFINITY),
        (resource.RLIMIT_NOFILE, 1024, 4096),
    ]
    with pytest.raises(ValueError, match="unknown ulimit name 'files'"):
        rlimit_triples({"files": (1, 1)})


def test_the_launch_goes_through_ip_netns_exec_and_the_system_python() -> None:
    assert launch_argv("mw-abc")[:8] == [
        "ip",
        "netns",
        "exec",
        "mw-abc",
        "/usr/bin/python3",
        "-I",
        "-S",
        "-c",
    ]
    assert launch_argv("mw-abc")[8] == LAUNCHER
    compile(LAUNCHER, "<launcher>", "exec")  # the launcher is valid Python


def test_the_payload_carries_the_whole_spec_and_nothing_else_is_inherited() -> None:
    spec = ProcessSpec(
        argv=("envoy", "-c", "b.yaml"),
        env={"A": "1"},
        cwd="/srv",
        uid=1337,
        gid=1337,
        groups=(44,),
        rlimits={"nofile": (15000, 15000)},
        netns="mw-abc",
        stdout_path=Path("o"),
        stderr_path=Path("e"),
    )
    env = _launch_env(spec, 7)
    assert set(env) == {"PATH", SPEC_ENV}
    payload = json.loads(env[SPEC_ENV])
    assert payload["argv"] == ["envoy", "-c", "b.yaml"]
    assert payload["env"] == {"A": "1"}
    assert (payload["uid"], payload["gid"], payload["groups"]) == (1337, 1337, [44])
    assert payload["rlimits"] == [[resource.RLIMIT_NOFILE, 15000, 15000]]
    assert (payload["cwd"], payload["status_fd"]) == ("/srv", 7)


def test_a_launch_error_reads_as_dockers_start_failure() -> None:
    error = LaunchError('exec: "app": executable file not found in $PATH')
    assert str(error) == (
        "Error response from daemon: failed to create task for container: failed to create "
        "shim task: OCI runtime create failed: runc create failed: unable to start container "
        'process: exec: "app": executable file not found in $PATH: unknown'
    )
