"""Cloud Map's asynchronous operations: what namespace create/update/delete, UpdateService and
instance register/deregister return an `OperationId` for; GetOperation and ListOperations.

AWS runs these in the background (SUBMITTED → PENDING → SUCCESS | FAIL); Meshway's writes are
one local transaction, so an operation is stored finished, in the same transaction as the
change it reports: SUCCESS, or FAIL with an ErrorCode and ErrorMessage when the change was
refused after it was accepted (a DNS namespace whose name this network already serves).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from meshway.core.context import RequestContext
from meshway.core.errors import DuplicateRequest, InvalidInput, OperationNotFound
from meshway.core.ids import IdFactory
from meshway.model.servicediscovery.filters import OPERATION_CONDITIONS, matching, parse_filters
from meshway.model.servicediscovery.records import OPERATION, CloudMapScope
from meshway.service.servicediscovery.base import CloudMapBase, page, scope_of
from meshway.store.base import Record, Transaction, iter_all

SUCCESS, FAIL = "SUCCESS", "FAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    code: str
    message: str


def new_operation_id(ids: IdFactory) -> str:
    """AWS's shape: 32 characters, a dash, 8 more."""
    return f"{ids.hex(32)}-{ids.hex(8)}"


def record_operation(
    tx: Transaction,
    scope: CloudMapScope,
    *,
    operation_id: str,
    kind: str,
    targets: Mapping[str, str],
    now: float,
    failure: Failure | None = None,
) -> str:
    body: dict[str, Any] = {
        "Id": operation_id,
        "OwnerAccount": scope.account,
        "Type": kind,
        "Status": FAIL if failure else SUCCESS,
        "CreateDate": now,
        "UpdateDate": now,
        "Targets": dict(targets),
    }
    if failure is not None:
        body.update(ErrorCode=failure.code, ErrorMessage=failure.message)
    tx.put(
        Record(
            kind=OPERATION,
            key=scope.operation_key(operation_id),
            parent=scope.key,
            name=operation_id,
            body=body,
        )
    )
    return operation_id


def fingerprint(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


def replay(tx: Transaction, token_scope: str, request: Mapping[str, Any]) -> str | None:
    """The OperationId a request with this token already got; DuplicateRequest if that
    token came with another request."""
    remembered = tx.recall(token_scope)
    if remembered is None:
        return None
    earlier = str(remembered[1]["OperationId"])
    if remembered[0] != fingerprint(request):
        raise DuplicateRequest(
            "Another request with this request id is in progress.",  # unverified wording
            fields={"DuplicateOperationId": earlier},
        )
    return earlier


def _field(operation: Mapping[str, Any], name: str) -> str | float | None:
    targets = operation.get("Targets") or {}
    fields: dict[str, str | float | None] = {
        "NAMESPACE_ID": targets.get("NAMESPACE"),
        "SERVICE_ID": targets.get("SERVICE"),
        "STATUS": operation.get("Status"),
        "TYPE": operation.get("Type"),
        "UPDATE_DATE": operation.get("UpdateDate"),
    }
    return fields[name]


class OperationOps(CloudMapBase):
    def get_operation(
        self, ctx: RequestContext, operation_id: str, owner_account: str | None = None
    ) -> dict[str, Any]:
        scope = scope_of(ctx)
        with self._store.read() as tx:
            record = tx.get(OPERATION, scope.operation_key(operation_id))
        if record is None or owner_account not in (None, scope.account):
            raise OperationNotFound(f"Operation {operation_id} not found.")  # unverified wording
        return {"Operation": dict(record.body)}

    def list_operations(
        self,
        ctx: RequestContext,
        next_token: str | None = None,
        max_results: int | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        parsed = parse_filters(filters, OPERATION_CONDITIONS)
        if isinstance(parsed, str):
            raise InvalidInput(parsed)
        with self._store.read() as tx:
            records = list(iter_all(tx, OPERATION, scope_of(ctx).key))
        chosen = matching(records, parsed, lambda r, name: _field(r.body, name))
        found, token = page(chosen, [r.seq for r in chosen], next_token, max_results)
        summaries = [{"Id": r.body["Id"], "Status": r.body["Status"]} for r in found]
        return {"Operations": summaries, "NextToken": token}
