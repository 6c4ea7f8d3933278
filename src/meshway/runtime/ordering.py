"""dependsOn, as the ECS agent resolves it (agent/engine/dependencygraph/graph.go).

Pure: given what is known about a task's containers, say which may start now, which can never
start (and why), and which may stop. Facts: reference/ecs.md §3.3.
- START: the dependency is RUNNING (or already STOPPED).
- COMPLETE: the dependency STOPPED, whatever its exit code.
- SUCCESS: the dependency STOPPED with exit code 0; a non-zero exit can never satisfy it.
- HEALTHY: the dependency is HEALTHY; judged at start-up only.
- A dependency's startTimeout, counted from its start, bounds COMPLETE, SUCCESS and HEALTHY.
Stopping runs the other way: a container stops only after everything that depends on it stopped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Condition(StrEnum):
    START = "START"
    COMPLETE = "COMPLETE"
    SUCCESS = "SUCCESS"
    HEALTHY = "HEALTHY"


class Status(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class Health(StrEnum):
    UNKNOWN = "UNKNOWN"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    container: str
    condition: Condition


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerState:
    name: str
    status: Status = Status.PENDING
    health: Health = Health.UNKNOWN
    exit_code: int | None = None
    started_at: float | None = None
    start_timeout: float | None = None  # this container's startTimeout, as a dependency
    depends_on: tuple[Dependency, ...] = ()


class Verdict(StrEnum):
    MET = "MET"
    WAIT = "WAIT"
    NEVER = "NEVER"


@dataclass(frozen=True, slots=True)
class Resolution:
    verdict: Verdict
    reason: str = ""


MET = Resolution(Verdict.MET)
WAIT = Resolution(Verdict.WAIT)


def _timed_out(dep: ContainerState, now: float) -> bool:
    return (
        dep.started_at is not None
        and dep.start_timeout is not None
        and dep.start_timeout > 0
        and now - dep.started_at > dep.start_timeout
    )


def resolve(need: Dependency, dep: ContainerState | None, target: str, now: float) -> Resolution:
    """Whether `target`'s dependency `need` holds, may still hold, or never will."""
    if dep is None:
        return _never(target, need, "dependency container does not exist")
    stopped = dep.status is Status.STOPPED
    if need.condition is Condition.START:
        return MET if dep.status in (Status.RUNNING, Status.STOPPED) else WAIT
    if need.condition is Condition.COMPLETE and stopped and dep.exit_code is not None:
        return MET
    if need.condition is Condition.SUCCESS and stopped:
        if dep.exit_code == 0:
            return MET
        return _never(target, need, f"dependency exited with code {dep.exit_code}")
    if need.condition is Condition.HEALTHY:
        if dep.health is Health.HEALTHY and not stopped:
            return MET
        if stopped:
            return _never(target, need, "dependency has stopped and will not become healthy")
    if _timed_out(dep, now):
        return _never(
            target,
            need,
            f"dependency did not reach {need.condition} within its "
            f"startTimeout of {dep.start_timeout:g}s",
        )
    return WAIT


def _never(target: str, need: Dependency, why: str) -> Resolution:
    return Resolution(
        Verdict.NEVER,
        f"CannotStartContainerError: dependency graph: container {target} cannot start: "
        f"dependency {need.container} condition {need.condition}: {why}",
    )


@dataclass(frozen=True, slots=True)
class StartPlan:
    ready: tuple[str, ...]  # may start now, in definition order
    doomed: Mapping[str, str]  # can never start → the reason (exit code 143 as the agent sets)


def plan_start(containers: Sequence[ContainerState], now: float) -> StartPlan:
    by_name = {c.name: c for c in containers}
    ready: list[str] = []
    doomed: dict[str, str] = {}
    for container in containers:
        if container.status is not Status.PENDING:
            continue
        verdicts = [
            resolve(need, by_name.get(need.container), container.name, now)
            for need in container.depends_on
        ]
        never = next((v for v in verdicts if v.verdict is Verdict.NEVER), None)
        if never is not None:
            doomed[container.name] = never.reason
        elif all(v.verdict is Verdict.MET for v in verdicts):
            ready.append(container.name)
    return StartPlan(tuple(ready), doomed)


def may_stop(name: str, containers: Sequence[ContainerState]) -> bool:
    """Reverse order: every container that depends on `name` has stopped (or never started)."""
    return all(
        other.status is not Status.RUNNING
        for other in containers
        if any(need.container == name for need in other.depends_on)
    )


def stop_waves(containers: Sequence[ContainerState]) -> list[list[str]]:
    """The running containers grouped into waves that may stop together, dependents first."""
    remaining = {c.name: c for c in containers if c.status is Status.RUNNING}
    waves: list[list[str]] = []
    while remaining:
        current = [c for c in remaining.values()]
        wave = [c.name for c in current if may_stop(c.name, current)]
        if not wave:  # a cycle cannot be registered; stop the rest together rather than hang
            wave = list(remaining)
        waves.append(wave)
        for name in wave:
            del remaining[name]
    return waves
