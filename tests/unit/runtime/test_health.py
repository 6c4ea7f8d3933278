"""Docker's health state machine with ECS defaults, and Meshway's eager first probes."""

from __future__ import annotations

from meshway.runtime.health import (
    HealthCheck,
    HealthState,
    ProbeResult,
    from_definition,
    next_probe,
    observe,
)
from meshway.runtime.ordering import Health

CHECK = HealthCheck(command=("true",), interval=5, timeout=2, retries=3, start_period=10)


def probe(code: int, at: float, scheduled: bool = True) -> ProbeResult:
    return ProbeResult(exit_code=code, output="", started_at=at, scheduled=scheduled)


def test_the_seed_health_check_becomes_a_shell_command_with_its_timings() -> None:
    check = from_definition(
        {
            "command": [
                "CMD-SHELL",
                "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE",
            ],
            "startPeriod": 10,
            "interval": 5,
            "timeout": 2,
            "retries": 3,
        }
    )
    assert check.command[:2] == ("/bin/sh", "-c")
    assert check.command[2].startswith("curl -s http://localhost:9901/server_info")
    assert (check.interval, check.timeout, check.retries, check.start_period) == (5, 2, 3, 10)


def test_ecs_defaults_fill_what_the_definition_leaves_out() -> None:
    check = from_definition({"command": ["CMD", "true"]})
    assert (check.command, check.interval, check.timeout, check.retries) == (("true",), 30, 5, 3)


def test_one_success_is_healthy_even_inside_the_start_period() -> None:
    assert observe(HealthState(), CHECK, probe(0, at=1)).status is Health.HEALTHY


def test_failures_inside_the_start_period_do_not_count() -> None:
    state = HealthState()
    for at in (5, 9.9):
        state = observe(state, CHECK, probe(1, at))
    assert state.failing_streak == 0
    assert state.status is Health.UNKNOWN


def test_retries_counted_failures_make_it_unhealthy_and_a_success_heals_it() -> None:
    state = HealthState()
    for at in (10, 15):
        state = observe(state, CHECK, probe(1, at))
    assert state.status is Health.UNKNOWN
    state = observe(state, CHECK, probe(-1, 20))
    assert state.status is Health.UNHEALTHY
    assert observe(state, CHECK, probe(0, 25)).status is Health.HEALTHY


def test_eager_probe_failures_never_count() -> None:
    state = HealthState()
    for i in range(100):
        state = observe(state, CHECK, probe(1, 10 + i * 0.1, scheduled=False))
    assert state.failing_streak == 0
    assert state.status is Health.UNKNOWN


def test_probes_are_eager_until_the_first_success_then_follow_the_interval() -> None:
    at, scheduled = next_probe(HealthState(), CHECK, elapsed=0.0)
    assert (at, scheduled) == (0.1, False)
    assert next_probe(HealthState(), CHECK, elapsed=4.95) == (5.0, True)
    healthy = HealthState(status=Health.HEALTHY, exit_code=0)
    assert next_probe(healthy, CHECK, elapsed=5.2) == (10.0, True)
