"""A refused RegisterTaskDefinition stores nothing; an accepted one stores exactly a revision."""

from __future__ import annotations

import pytest
from botocore import xform_name

from meshway.core.context import RequestContext
from meshway.core.errors import ClientException
from meshway.service.ecs import EcsService
from meshway.service.ecs.base import FAMILY, TASK_DEFINITION
from meshway.store.sql import SqlStore
from tests.unit.model.ecs.cases import CASES, Case, seed


def snake(definition: dict[str, object]) -> dict[str, object]:
    return {xform_name(k): v for k, v in definition.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_each_refused_definition_leaves_the_store_unchanged(
    case: Case, ecs: EcsService, store: SqlStore, ctx: RequestContext
) -> None:
    ecs.register_task_definition(ctx, **snake(seed()))
    revision = store.revision()
    with pytest.raises(ClientException) as raised:
        ecs.register_task_definition(ctx, **snake(case.definition()))
    assert raised.value.message == case.message
    assert store.revision() == revision
    with store.read() as tx:
        assert tx.count(TASK_DEFINITION) == 1
        assert tx.count(FAMILY) == 1


def test_revisions_count_up_per_family_and_never_reuse_numbers(
    ecs: EcsService, ctx: RequestContext
) -> None:
    first = ecs.register_task_definition(ctx, **snake(seed()))["taskDefinition"]
    second = ecs.register_task_definition(ctx, **snake(seed()))["taskDefinition"]
    assert (first["revision"], second["revision"]) == (1, 2)
    ecs.deregister_task_definition(ctx, task_definition="appmesh-gateway:2")
    ecs.delete_task_definitions(ctx, task_definitions=["appmesh-gateway:2"])
    third = ecs.register_task_definition(ctx, **snake(seed()))["taskDefinition"]
    assert third["revision"] == 3
