"""dependsOn resolution and stop order, per the ECS agent's dependency graph."""

from __future__ import annotations

from meshway.runtime.ordering import (
    Condition,
    ContainerState,
    Dependency,
    Health,
    Status,
    plan_start,
    stop_waves,
)


def dep(name: str, condition: Condition) -> tuple[Dependency, ...]:
    return (Dependency(container=name, condition=condition),)


def test_the_seed_app_waits_for_envoy_to_be_healthy() -> None:
    envoy = ContainerState(name="envoy", status=Status.RUNNING, started_at=0)
    app = ContainerState(name="app", depends_on=dep("envoy", Condition.HEALTHY))
    assert plan_start([envoy, app], now=1).ready == ()
    healthy = ContainerState(name="envoy", status=Status.RUNNING, health=Health.HEALTHY)
    assert plan_start([healthy, app], now=1).ready == ("app",)


def test_containers_without_dependencies_start_at_once_in_definition_order() -> None:
    plan = plan_start([ContainerState(name="b"), ContainerState(name="a")], now=0)
    assert plan.ready == ("b", "a")


def test_start_is_met_by_a_running_or_stopped_dependency() -> None:
    target = ContainerState(name="t", depends_on=dep("d", Condition.START))
    for status in (Status.RUNNING, Status.STOPPED):
        assert plan_start([ContainerState(name="d", status=status), target], 0).ready == ("t",)
    assert "t" not in plan_start([ContainerState(name="d"), target], 0).ready


def test_complete_needs_an_exit_whatever_its_code() -> None:
    target = ContainerState(name="t", depends_on=dep("d", Condition.COMPLETE))
    done = ContainerState(name="d", status=Status.STOPPED, exit_code=3)
    assert plan_start([done, target], 0).ready == ("t",)


def test_success_fails_for_good_on_a_non_zero_exit() -> None:
    target = ContainerState(name="t", depends_on=dep("d", Condition.SUCCESS))
    ok = ContainerState(name="d", status=Status.STOPPED, exit_code=0)
    bad = ContainerState(name="d", status=Status.STOPPED, exit_code=1)
    assert plan_start([ok, target], 0).ready == ("t",)
    plan = plan_start([bad, target], 0)
    assert plan.ready == ()
    assert plan.doomed["t"].startswith("CannotStartContainerError: dependency graph:")


def test_a_dependency_past_its_start_timeout_dooms_the_dependant() -> None:
    slow = ContainerState(name="d", status=Status.RUNNING, started_at=0, start_timeout=5)
    target = ContainerState(name="t", depends_on=dep("d", Condition.HEALTHY))
    assert plan_start([slow, target], now=4).doomed == {}
    assert "startTimeout of 5s" in plan_start([slow, target], now=6).doomed["t"]


def test_an_unhealthy_dependency_without_start_timeout_just_blocks() -> None:
    sick = ContainerState(name="d", status=Status.RUNNING, health=Health.UNHEALTHY, started_at=0)
    target = ContainerState(name="t", depends_on=dep("d", Condition.HEALTHY))
    plan = plan_start([sick, target], now=1000)
    assert plan.ready == ()
    assert plan.doomed == {}


def test_containers_stop_in_reverse_dependency_order() -> None:
    envoy = ContainerState(name="envoy", status=Status.RUNNING)
    xray = ContainerState(name="xray", status=Status.RUNNING)
    app = ContainerState(
        name="app",
        status=Status.RUNNING,
        depends_on=(
            Dependency(container="envoy", condition=Condition.HEALTHY),
            Dependency(container="xray", condition=Condition.START),
        ),
    )
    assert stop_waves([envoy, xray, app]) == [["app"], ["envoy", "xray"]]
