"""TagResource, UntagResource and ListTagsForResource on clusters, task definitions, tasks and
services.

Tags live in the tagged record's own document (`tags`), so a resource and its tags are written
in one transaction and disappear together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshway.core import arns
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidParameterException, ResourceNotFoundException
from meshway.model.ecs.arns import Scope
from meshway.service.ecs.base import (
    CLUSTER,
    SERVICE,
    TASK,
    TASK_DEFINITION,
    EcsBase,
    find_cluster,
)
from meshway.store.base import Record, Transaction

MAX_TAGS = 50
_KINDS = {"cluster": CLUSTER, "task-definition": TASK_DEFINITION, "task": TASK, "service": SERVICE}


def _record(tx: Transaction, resource_arn: str) -> Record:
    parsed = arns.parse(resource_arn)
    kind = _KINDS.get(parsed.resource.split("/", 1)[0]) if parsed else None
    if parsed is None or parsed.service != "ecs" or kind is None:
        raise InvalidParameterException("The ARN provided is invalid.")  # unverified wording
    record = tx.get(kind, resource_arn)
    scope = Scope(region=parsed.region, account=parsed.account)
    if record is None and kind == CLUSTER:
        record = find_cluster(tx, scope, resource_arn)  # the implicit `default` cluster
    if record is None:
        raise ResourceNotFoundException("The specified resource could not be found.")  # unverified
    return record


def _with_tags(record: Record, tags: list[dict[str, str]]) -> Record:
    return Record(
        kind=record.kind,
        key=record.key,
        parent=record.parent,
        name=record.name,
        body={**record.body, "tags": tags},
    )


class TagOps(EcsBase):
    def tag_resource(
        self, ctx: RequestContext, resource_arn: str, tags: Sequence[dict[str, str]]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = _record(tx, resource_arn)
            merged = {t["key"]: t.get("value", "") for t in record.body.get("tags", [])}
            merged.update({t["key"]: t.get("value", "") for t in tags})
            if len(merged) > MAX_TAGS:
                raise InvalidParameterException(  # unverified wording; limit from the model
                    f"A resource can have at most {MAX_TAGS} tags."
                )
            tx.put(_with_tags(record, [{"key": k, "value": v} for k, v in merged.items()]))
        return {}

    def untag_resource(
        self, ctx: RequestContext, resource_arn: str, tag_keys: Sequence[str]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = _record(tx, resource_arn)
            kept = [t for t in record.body.get("tags", []) if t["key"] not in set(tag_keys)]
            tx.put(_with_tags(record, kept))
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, resource_arn: str) -> dict[str, Any]:
        with self._store.read() as tx:
            record = _record(tx, resource_arn)
        return {"tags": list(record.body.get("tags", []))}
