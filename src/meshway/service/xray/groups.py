"""X-Ray groups (a named filter expression), encryption config and daemon telemetry.

Groups are records of the generic store (kind `xray-group`, under `account:region`). `Default`
always exists, has no filter expression and cannot be changed or deleted. A group's expression
is parsed when it is written, so a bad one is refused up front (InvalidRequestException), and
GetServiceGraph/`group.name = "x"` apply it. Encryption: the local store is not KMS-encrypted, so
the config says `NONE`, and asking for `KMS` is refused rather than pretended. Telemetry records
(the daemon sends them every 60 s) are accepted; AWS has no API that reads them back.
"""

from __future__ import annotations

from typing import Any

from meshway.core import arns
from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidRequestException
from meshway.core.ids import IdFactory
from meshway.model.xray.filters import Expr
from meshway.service.xray.tags import merged
from meshway.service.xray.traces import parse_filter
from meshway.store.base import Record
from meshway.store.sql import SqlStore

KIND = "xray-group"
DEFAULT = "Default"
INSIGHTS_OFF = {"InsightsEnabled": False, "NotificationsEnabled": False}


def _scope(ctx: RequestContext) -> str:
    return f"{ctx.account}:{ctx.region}"


class GroupOperations:
    def __init__(self, store: SqlStore, clock: Clock, ids: IdFactory) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids

    def _default(self, ctx: RequestContext) -> dict[str, Any]:
        return {
            "GroupName": DEFAULT,
            "GroupARN": arns.build("xray", ctx.region, ctx.account, "group/Default"),
            "InsightsConfiguration": INSIGHTS_OFF,
        }

    def _groups(self, ctx: RequestContext) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            stored = [dict(r.body) for r in tx.list(KIND, _scope(ctx)).records]
        return [self._default(ctx), *stored]

    def _find(self, ctx: RequestContext, name: str | None, arn: str | None) -> dict[str, Any]:
        if name is None and arn is None:
            raise InvalidRequestException("GroupName or GroupARN is required")
        for group in self._groups(ctx):
            if group["GroupName"] == name or (name is None and group["GroupARN"] == arn):
                return group
        raise InvalidRequestException("Group not found")

    def group_filter(self, ctx: RequestContext, by: str, value: str) -> Expr | None:
        """The parsed expression of the group named (`by="name"`) or ARN'd (`by="arn"`)."""
        group = self._find(ctx, value if by == "name" else None, value if by == "arn" else None)
        text = group.get("FilterExpression")
        return parse_filter(text) if text else None

    def _save(self, ctx: RequestContext, group: dict[str, Any]) -> None:
        with self.store.transaction() as tx:
            tx.put(
                Record(
                    kind=KIND,
                    key=group["GroupARN"],
                    parent=_scope(ctx),
                    name=group["GroupName"],
                    body=group,
                )
            )

    def create_group(
        self,
        ctx: RequestContext,
        *,
        group_name: str,
        filter_expression: str | None = None,
        insights_configuration: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        if any(g["GroupName"] == group_name for g in self._groups(ctx)):
            raise InvalidRequestException(f"Group {group_name} already exists")
        if filter_expression is not None:
            parse_filter(filter_expression)
        resource = f"group/{group_name}/{self.ids.hex(32).upper()}"
        group: dict[str, Any] = {
            "GroupName": group_name,
            "GroupARN": arns.build("xray", ctx.region, ctx.account, resource),
            "InsightsConfiguration": {**INSIGHTS_OFF, **(insights_configuration or {})},
        }
        if filter_expression is not None:
            group["FilterExpression"] = filter_expression
        self._save(ctx, {**group, "Tags": merged([], tags)})
        return {"Group": group}

    def get_group(
        self, ctx: RequestContext, *, group_name: str | None = None, group_arn: str | None = None
    ) -> dict[str, Any]:
        return {"Group": self._find(ctx, group_name, group_arn)}

    def get_groups(self, ctx: RequestContext, *, next_token: str | None = None) -> dict[str, Any]:
        return {"Groups": self._groups(ctx)}

    def update_group(
        self,
        ctx: RequestContext,
        *,
        group_name: str | None = None,
        group_arn: str | None = None,
        filter_expression: str | None = None,
        insights_configuration: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        group = dict(self._find(ctx, group_name, group_arn))
        if group["GroupName"] == DEFAULT:
            raise InvalidRequestException("The Default group cannot be updated")
        if filter_expression is not None:
            parse_filter(filter_expression)
            group["FilterExpression"] = filter_expression
        if insights_configuration is not None:
            group["InsightsConfiguration"] = {
                **group["InsightsConfiguration"],
                **insights_configuration,
            }
        self._save(ctx, group)
        return {"Group": group}

    def delete_group(
        self, ctx: RequestContext, *, group_name: str | None = None, group_arn: str | None = None
    ) -> dict[str, Any]:
        group = self._find(ctx, group_name, group_arn)
        if group["GroupName"] == DEFAULT:
            raise InvalidRequestException("The Default group cannot be deleted")
        with self.store.transaction() as tx:
            tx.delete(KIND, group["GroupARN"])
        return {}

    def get_encryption_config(self, ctx: RequestContext) -> dict[str, Any]:
        return {"EncryptionConfig": {"Type": "NONE", "Status": "ACTIVE"}}

    def put_encryption_config(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        if members.get("type") != "NONE":  # members: type, key_id
            raise InvalidRequestException(
                "KMS encryption is not available: Meshway stores traces unencrypted on local disk"
            )
        return self.get_encryption_config(ctx)

    def put_telemetry_records(self, ctx: RequestContext, **_: Any) -> dict[str, Any]:
        return {}
