"""Docker's health-check state machine with ECS's defaults (moby daemon/health.go).

Pure. One success makes a container HEALTHY and clears the failing streak; a failure counts only
once the start period is over (or the container was already healthy); `retries` counted failures
make it UNHEALTHY; a probe that outlives `timeout` is a failure. Facts: reference/ecs.md §3.4.

Meshway probes eagerly until the first success so that dependants start fast, but an eager
probe's failure is never counted: only probes on Docker's own `interval` schedule count, so a
container turns UNHEALTHY exactly when Docker would turn it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from meshway.runtime.ordering import Health

# ECS fills these in when the task definition leaves them out (Docker's own differ).
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3
EAGER_INTERVAL = 0.1  # how often Meshway probes before the first success
OUTPUT_LIMIT = 1024  # the agent keeps the last 1024 characters of a probe's output


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    command: tuple[str, ...]  # the argv to run (CMD-SHELL already expanded to /bin/sh -c)
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    start_period: float = 0.0


def from_definition(check: Mapping[str, Any]) -> HealthCheck:
    """ECS `healthCheck` → argv and timings. `CMD-SHELL` runs `/bin/sh -c`; `CMD` runs the rest
    as is; a command that names neither is taken as CMD (ECS's documented fallback)."""
    command: Sequence[str] = check.get("command") or []
    if command and command[0] == "CMD-SHELL":
        argv: tuple[str, ...] = ("/bin/sh", "-c", " ".join(command[1:]))
    elif command and command[0] == "CMD":
        argv = tuple(command[1:])
    else:
        argv = tuple(command)
    return HealthCheck(
        command=argv,
        interval=float(check.get("interval") or DEFAULT_INTERVAL),
        timeout=float(check.get("timeout") or DEFAULT_TIMEOUT),
        retries=int(check.get("retries") or DEFAULT_RETRIES),
        start_period=float(check.get("startPeriod") or 0),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthState:
    status: Health = Health.UNKNOWN
    failing_streak: int = 0
    exit_code: int | None = None
    output: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    exit_code: int  # -1 for a probe that timed out (Docker's convention)
    output: str
    started_at: float  # seconds since the container started
    scheduled: bool  # on Docker's interval schedule (counts failures) or eager (does not)


def observe(state: HealthState, check: HealthCheck, probe: ProbeResult) -> HealthState:
    output = probe.output[-OUTPUT_LIMIT:]
    if probe.exit_code == 0:
        return HealthState(status=Health.HEALTHY, failing_streak=0, exit_code=0, output=output)
    in_start_period = state.status is Health.UNKNOWN and probe.started_at < check.start_period
    if not probe.scheduled or in_start_period:
        return replace(state, exit_code=probe.exit_code, output=output)
    streak = state.failing_streak + 1
    status = Health.UNHEALTHY if streak >= check.retries else state.status
    return HealthState(
        status=status, failing_streak=streak, exit_code=probe.exit_code, output=output
    )


def next_probe(state: HealthState, check: HealthCheck, elapsed: float) -> tuple[float, bool]:
    """(seconds from container start of the next probe, whether it is a scheduled one).

    Scheduled probes fall at interval, 2 x interval, ... as Docker's ticker does; before the
    first success an eager probe runs every EAGER_INTERVAL in between."""
    scheduled_at = (int(elapsed // check.interval) + 1) * check.interval
    if state.status is Health.UNKNOWN and state.exit_code != 0:
        eager_at = elapsed + EAGER_INTERVAL
        if eager_at < scheduled_at:
            return eager_at, False
    return scheduled_at, True
