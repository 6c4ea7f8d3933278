"""TagResource, UntagResource and ListTagsForResource on namespaces and services.

Tags live in the tagged record's own document (`Tags`, a list of {Key, Value}), so a resource
and its tags are written in one transaction and disappear together. At most 50 tags per
resource (TooManyTagsException's documentation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core import arns
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidInput, ResourceNotFoundException
from meshway.model.servicediscovery.records import ARN_SERVICE, NAMESPACE, SERVICE
from meshway.service.servicediscovery.base import CloudMapBase, check_tags, scope_of, with_body
from meshway.store.base import Record, Transaction

_KINDS = {"namespace": NAMESPACE, "service": SERVICE}


def _record(tx: Transaction, ctx: RequestContext, resource_arn: str) -> Record:
    parsed = arns.parse(resource_arn)
    if parsed is None or parsed.service != ARN_SERVICE:
        raise InvalidInput(f"{resource_arn} is not a valid Cloud Map ARN.")  # unverified
    kind = _KINDS.get(parsed.resource.split("/", 1)[0])
    scope = scope_of(ctx)
    record = tx.get(kind, resource_arn) if kind is not None else None
    if record is None or (parsed.account, parsed.region) != (scope.account, scope.region):
        raise ResourceNotFoundException(  # unverified wording
            f"The resource {resource_arn} can't be found."
        )
    return record


class TagOps(CloudMapBase):
    def tag_resource(
        self, ctx: RequestContext, resource_arn: str, tags: Sequence[Mapping[str, str]]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = _record(tx, ctx, resource_arn)
            merged = {t["Key"]: t["Value"] for t in record.body.get("Tags") or ()}
            merged.update({t["Key"]: t["Value"] for t in tags})
            pairs = [{"Key": k, "Value": v} for k, v in merged.items()]
            check_tags(pairs, resource_arn)
            tx.put(with_body(record, {**record.body, "Tags": pairs}))
        return {}

    def untag_resource(
        self, ctx: RequestContext, resource_arn: str, tag_keys: Sequence[str]
    ) -> dict[str, Any]:
        with self._store.transaction() as tx:
            record = _record(tx, ctx, resource_arn)
            kept = [t for t in record.body.get("Tags") or () if t["Key"] not in set(tag_keys)]
            tx.put(with_body(record, {**record.body, "Tags": kept}))
        return {}

    def list_tags_for_resource(self, ctx: RequestContext, resource_arn: str) -> dict[str, Any]:
        with self._store.read() as tx:
            record = _record(tx, ctx, resource_arn)
        return {"Tags": [dict(t) for t in record.body.get("Tags") or ()]}
