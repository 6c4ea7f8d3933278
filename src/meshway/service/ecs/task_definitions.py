"""Task-definition operations: register (revisions per family), describe, list, list families,
deregister (INACTIVE) and delete (DELETE_IN_PROGRESS, only from INACTIVE).

Rules and the described form come from `meshway.model.ecs.taskdef`; this module adds revisions,
lookup by `family` / `family:revision` / ARN, listings and the store transaction around each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import ClientException, InvalidParameterException
from meshway.model.ecs.arns import Scope, parse_task_definition_ref, task_definition_arn
from meshway.model.ecs.arns import scope_of as arn_scope
from meshway.model.ecs.taskdef import (
    Registration,
    described_task_definition,
    validate_registration,
)
from meshway.service.ecs.base import FAMILY, TASK_DEFINITION, EcsBase, paginate, scope_of
from meshway.store.base import Record, Transaction

NOT_FOUND = "The specified task definition does not exist."  # unverified wording
MAX_DELETE = 10


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def lookup(tx: Transaction, scope: Scope, ref: str) -> Record | None:
    """The revision `ref` names; a bare family means its latest ACTIVE revision."""
    parsed = parse_task_definition_ref(ref)
    if parsed is None or arn_scope(ref) not in (None, scope):
        return None  # malformed, or an ARN of another account or region
    if parsed.revision is not None:
        return tx.get(TASK_DEFINITION, task_definition_arn(scope, parsed.family, parsed.revision))
    revisions = [
        r
        for r in tx.find(TASK_DEFINITION, parent=scope.key, name=parsed.family)
        if r.body["status"] == "ACTIVE"
    ]
    return max(revisions, key=lambda r: int(r.body["revision"]), default=None)


def _public(body: Any) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "tags"}


class TaskDefinitionOps(EcsBase):
    def register_task_definition(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        definition = {camel(k): v for k, v in members.items() if v is not None}
        tags = definition.pop("tags", [])
        validate_registration(definition)
        scope, family = scope_of(ctx), definition["family"]
        with self._store.transaction() as tx:
            family_key = f"{scope.key}/{family}"
            counter = tx.get(FAMILY, family_key)
            revision = (int(counter.body["latestRevision"]) if counter else 0) + 1
            tx.put(
                Record(
                    kind=FAMILY,
                    key=family_key,
                    parent=scope.key,
                    name=family,
                    body={"family": family, "latestRevision": revision},
                )
            )
            arn = task_definition_arn(scope, family, revision)
            body = described_task_definition(
                definition,
                Registration(
                    arn=arn,
                    revision=revision,
                    registered_at=self._clock.now(),
                    registered_by=f"arn:aws:iam::{scope.account}:root",
                ),
            )
            tx.put(
                Record(
                    kind=TASK_DEFINITION,
                    key=arn,
                    parent=scope.key,
                    name=family,
                    body={**body, "tags": tags},
                )
            )
        return {"taskDefinition": body, "tags": tags}

    def describe_task_definition(
        self, ctx: RequestContext, task_definition: str, include: Sequence[str] = ()
    ) -> dict[str, Any]:
        with self._store.read() as tx:
            record = lookup(tx, scope_of(ctx), task_definition)
        if record is None:
            raise ClientException("Unable to describe task definition.")
        out: dict[str, Any] = {"taskDefinition": _public(record.body)}
        if "TAGS" in include:
            out["tags"] = record.body.get("tags", [])
        return out

    def list_task_definitions(
        self,
        ctx: RequestContext,
        *,
        family_prefix: str | None = None,
        status: str = "ACTIVE",
        sort: str = "ASC",
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            # NOTE: despite its name, familyPrefix is the full family name (API reference).
            index = {"name": family_prefix} if family_prefix is not None else {}
            records = tx.find(TASK_DEFINITION, parent=scope.key, **index)
        keys = sorted(
            (
                (r.body["family"], int(r.body["revision"]))
                for r in records
                if r.body["status"] == status
            ),
            reverse=sort == "DESC",
        )
        page, token = paginate(keys, list, next_token, max_results, descending=sort == "DESC")
        arns = [task_definition_arn(scope, family, rev) for family, rev in page]
        return {"taskDefinitionArns": arns, "nextToken": token}

    def list_task_definition_families(
        self,
        ctx: RequestContext,
        *,
        family_prefix: str | None = None,
        status: str = "ALL",
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        with self._store.read() as tx:
            records = tx.find(TASK_DEFINITION, parent=scope_of(ctx).key)
        active: dict[str, bool] = {}
        for record in records:
            family = record.body["family"]
            active[family] = active.get(family, False) or record.body["status"] == "ACTIVE"
        families = sorted(
            family
            for family, is_active in active.items()
            if family.startswith(family_prefix or "")
            and (status == "ALL" or is_active == (status == "ACTIVE"))
        )
        page, token = paginate(families, str, next_token, max_results)
        return {"families": page, "nextToken": token}

    def deregister_task_definition(
        self, ctx: RequestContext, task_definition: str
    ) -> dict[str, Any]:
        parsed = parse_task_definition_ref(task_definition)
        if parsed is not None and parsed.revision is None:
            raise ClientException(  # unverified wording; the rule is the model doc's
                "A task definition revision must be specified to deregister it."
            )
        with self._store.transaction() as tx:
            record = lookup(tx, scope_of(ctx), task_definition)
            if record is None:
                raise ClientException(NOT_FOUND)
            body = dict(record.body)
            if body["status"] == "ACTIVE":
                body.update(status="INACTIVE", deregisteredAt=self._clock.now())
                tx.put(
                    Record(
                        kind=record.kind,
                        key=record.key,
                        parent=record.parent,
                        name=record.name,
                        body=body,
                    )
                )
        return {"taskDefinition": _public(body)}

    def delete_task_definitions(
        self, ctx: RequestContext, task_definitions: Sequence[str]
    ) -> dict[str, Any]:
        if not task_definitions or len(task_definitions) > MAX_DELETE:
            raise InvalidParameterException(  # unverified wording; limit from the model doc
                f"taskDefinitions must contain between 1 and {MAX_DELETE} task definitions."
            )
        deleted: list[dict[str, Any]] = []
        failures: list[dict[str, str]] = []
        with self._store.transaction() as tx:
            for ref in task_definitions:
                outcome = self._delete_one(tx, scope_of(ctx), ref)
                (deleted if "taskDefinitionArn" in outcome else failures).append(outcome)
        return {"taskDefinitions": deleted, "failures": failures}

    def _delete_one(self, tx: Transaction, scope: Scope, ref: str) -> dict[str, Any]:
        parsed = parse_task_definition_ref(ref)
        record = lookup(tx, scope, ref) if parsed and parsed.revision else None
        if record is None:
            return {"arn": ref, "reason": NOT_FOUND}
        body = dict(record.body)
        if body["status"] == "ACTIVE":
            return {  # unverified wording
                "arn": record.key,
                "reason": "The specified task definition is still in ACTIVE status. "
                "Please deregister the target and try again.",
            }
        if body["status"] == "INACTIVE":
            body.update(status="DELETE_IN_PROGRESS", deleteRequestedAt=self._clock.now())
            tx.put(
                Record(
                    kind=record.kind,
                    key=record.key,
                    parent=record.parent,
                    name=record.name,
                    body=body,
                )
            )
        return _public(body)
