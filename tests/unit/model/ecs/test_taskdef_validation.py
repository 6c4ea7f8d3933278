"""RegisterTaskDefinition's rules, one invalid definition per rule (table in `cases.py`)."""

from __future__ import annotations

import copy

import pytest

from meshway.core.errors import ClientException
from meshway.model.ecs.taskdef import validate_registration
from tests.unit.model.ecs.cases import CASES, Case, seed


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_each_broken_rule_is_refused_with_ecs_message(case: Case) -> None:
    with pytest.raises(ClientException) as raised:
        validate_registration(case.definition())
    assert raised.value.message == case.message
    assert raised.value.code == "ClientException"


@pytest.mark.parametrize(
    "name", ["appmesh-task-definition.json", "appmesh-task-definition-xray.json"]
)
def test_the_seed_task_definitions_are_valid(name: str) -> None:
    validate_registration(seed(name))


def test_every_rule_in_the_table_is_distinct() -> None:
    assert len({c.rule for c in CASES}) == len(CASES)


def test_a_valid_fargate_definition_passes() -> None:
    definition = copy.deepcopy(seed())
    definition.update(requiresCompatibilities=["FARGATE"], cpu="0.25 vCPU", memory="0.5GB")
    validate_registration(definition)


def test_essential_false_on_the_completing_dependency_is_allowed() -> None:
    definition = copy.deepcopy(seed())
    definition["containerDefinitions"].append(
        {"name": "init", "image": "busybox", "essential": False}
    )
    definition["containerDefinitions"][0]["dependsOn"].append(
        {"containerName": "init", "condition": "SUCCESS"}
    )
    validate_registration(definition)


def test_ignored_gid_alone_satisfies_the_ignored_ids_rule() -> None:
    definition = copy.deepcopy(seed())
    props = definition["proxyConfiguration"]["properties"]
    props[:] = [p for p in props if p["name"] != "IgnoredUID"]
    props.append({"name": "IgnoredGID", "value": "1337"})
    validate_registration(definition)
