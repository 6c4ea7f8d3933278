"""Tags on X-Ray groups and sampling rules: TagResource, UntagResource, ListTagsForResource.

Tags live in the resource's own record (member `Tags`, which the output shapes of groups and rules
do not declare, so it never leaks into them). X-Ray allows 50 user tags per resource. The
`Default` group and rule are not records (they exist for every account), so they take no tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidRequestException,
    ResourceNotFoundException,
    TooManyTagsException,
)
from meshway.store.base import Record
from meshway.store.sql import SqlStore

MAX_TAGS = 50
TAGGED_KINDS = ("xray-group", "xray-sampling-rule")


def merged(
    existing: Sequence[dict[str, str]], added: Sequence[dict[str, str]] | None
) -> list[dict[str, str]]:
    """`existing` with `added` applied (a key given again takes the new value), or
    TooManyTagsException past the limit."""
    tags = {t["Key"]: t["Value"] for t in existing}
    tags.update({t["Key"]: t.get("Value", "") for t in added or []})
    if len(tags) > MAX_TAGS:
        raise TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags")
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class TagOperations:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def _find(self, tx: Any, arn: str) -> Record:
        for kind in TAGGED_KINDS:
            record = tx.get(kind, arn)
            if record is not None:
                return record  # type: ignore[no-any-return]
        if arn.endswith((":group/Default", ":sampling-rule/Default")):
            raise InvalidRequestException("The Default group and sampling rule take no tags")
        raise ResourceNotFoundException(f"Resource {arn} not found")

    def _retag(self, arn: str, tags: list[dict[str, str]] | None, drop: Sequence[str]) -> None:
        with self.store.transaction() as tx:
            record = self._find(tx, arn)
            kept = [t for t in record.body.get("Tags", []) if t["Key"] not in drop]
            body = {**record.body, "Tags": merged(kept, tags)}
            tx.put(
                Record(
                    kind=record.kind,
                    key=record.key,
                    parent=record.parent,
                    name=record.name,
                    body=body,
                )
            )

    def tag_resource(
        self, ctx: RequestContext, *, resource_arn: str, tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        self._retag(resource_arn, tags, ())
        return {}

    def untag_resource(
        self, ctx: RequestContext, *, resource_arn: str, tag_keys: list[str]
    ) -> dict[str, Any]:
        self._retag(resource_arn, None, tag_keys)
        return {}

    def list_tags_for_resource(
        self, ctx: RequestContext, *, resource_arn: str, next_token: str | None = None
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            record = self._find(tx, resource_arn)
        return {"Tags": list(record.body.get("Tags", []))}
