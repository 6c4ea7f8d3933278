"""X-Ray's centralized sampling: rules (CRUD), targets for SDK pollers, statistic summaries.

Rules are records of the generic store (kind `xray-sampling-rule`, under `account:region`); they
change rarely, so the change feed is fine for them. The `Default` rule always exists (priority
10000, 1 request/s then 5%), may be updated but not deleted, and is what an account without
stored rules gets. The aws-xray-sdk keeps a rule only if `Version == 1`, `ResourceARN == "*"`,
`ServiceType` is set and `Attributes` is empty (reference/xray.md §1.4), so that is what
`Default` looks like. Statistics reported through GetSamplingTargets are kept in memory only:
they feed GetSamplingStatisticSummaries and are not worth a write per poll.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core import arns
from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import InvalidRequestException, RuleLimitExceededException
from meshway.service.xray.tags import merged
from meshway.store.base import Record
from meshway.store.sql import SqlStore

KIND = "xray-sampling-rule"
DEFAULT = "Default"
MAX_RULES = 25  # per account and region, Default not included (X-Ray quotas)
TARGET_INTERVAL = 10  # seconds between an SDK's GetSamplingTargets polls
RULE_MEMBERS = (
    "RuleName",
    "ResourceARN",
    "Priority",
    "FixedRate",
    "ReservoirSize",
    "ServiceName",
    "ServiceType",
    "Host",
    "HTTPMethod",
    "URLPath",
    "Version",
    "Attributes",
    "SamplingRateBoost",
)


def _scope(ctx: RequestContext) -> str:
    return f"{ctx.account}:{ctx.region}"


def rule_arn(ctx: RequestContext, name: str) -> str:
    return arns.build("xray", ctx.region, ctx.account, f"sampling-rule/{name}")


def default_rule(ctx: RequestContext) -> dict[str, Any]:
    return {
        "SamplingRule": {
            "RuleName": DEFAULT,
            "RuleARN": rule_arn(ctx, DEFAULT),
            "ResourceARN": "*",
            "Priority": 10000,
            "FixedRate": 0.05,
            "ReservoirSize": 1,
            "ServiceName": "*",
            "ServiceType": "*",
            "Host": "*",
            "HTTPMethod": "*",
            "URLPath": "*",
            "Version": 1,
            "Attributes": {},
        },
        "CreatedAt": 0.0,
        "ModifiedAt": 0.0,
    }


class SamplingOperations:
    def __init__(self, store: SqlStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._stats: dict[tuple[str, str], dict[str, Any]] = {}
        self._stats_lock = threading.Lock()

    def _records(self, ctx: RequestContext) -> dict[str, dict[str, Any]]:
        with self.store.read() as tx:
            stored = {r.name: dict(r.body) for r in tx.list(KIND, _scope(ctx)).records}
        stored.setdefault(DEFAULT, default_rule(ctx))
        return stored

    def _find(self, ctx: RequestContext, name: str | None, arn: str | None) -> dict[str, Any]:
        rules = self._records(ctx)
        for record in rules.values():
            rule = record["SamplingRule"]
            if name is not None and rule["RuleName"] == name:
                return record
            if name is None and arn is not None and rule["RuleARN"] == arn:
                return record
        if name is None and arn is None:
            raise InvalidRequestException("RuleName or RuleARN is required")
        raise InvalidRequestException("Sampling rule does not exist")

    def _save(self, ctx: RequestContext, record: Mapping[str, Any]) -> None:
        rule = record["SamplingRule"]
        with self.store.transaction() as tx:
            tx.put(
                Record(
                    kind=KIND,
                    key=rule["RuleARN"],
                    parent=_scope(ctx),
                    name=rule["RuleName"],
                    body=record,
                )
            )

    def get_sampling_rules(
        self, ctx: RequestContext, *, next_token: str | None = None
    ) -> dict[str, Any]:
        records = self._records(ctx).values()
        ordered = sorted(
            records,
            key=lambda r: (r["SamplingRule"]["Priority"], r["SamplingRule"]["RuleName"]),
        )
        return {"SamplingRuleRecords": ordered}

    def create_sampling_rule(
        self,
        ctx: RequestContext,
        *,
        sampling_rule: dict[str, Any],
        tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        name = sampling_rule.get("RuleName")
        if not name:
            raise InvalidRequestException("RuleName is required")
        if sampling_rule.get("Version") != 1:
            raise InvalidRequestException("Version must be 1")
        rules = self._records(ctx)
        if name in rules:
            raise InvalidRequestException(f"Sampling rule {name} already exists")
        if len(rules) - 1 >= MAX_RULES:
            raise RuleLimitExceededException("Sampling rule limit exceeded")
        now = self.clock.now()
        rule = {k: sampling_rule[k] for k in RULE_MEMBERS if k in sampling_rule}
        rule.setdefault("Attributes", {})
        rule["RuleARN"] = rule_arn(ctx, name)
        record = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
        self._save(ctx, {**record, "Tags": merged([], tags)})
        return {"SamplingRuleRecord": record}

    def update_sampling_rule(
        self, ctx: RequestContext, *, sampling_rule_update: dict[str, Any]
    ) -> dict[str, Any]:
        update = sampling_rule_update
        record = self._find(ctx, update.get("RuleName"), update.get("RuleARN"))
        rule = dict(record["SamplingRule"])
        changes = {k: v for k, v in update.items() if k in RULE_MEMBERS and k != "RuleName"}
        if rule["RuleName"] == DEFAULT and set(changes) - {"FixedRate", "ReservoirSize"}:
            raise InvalidRequestException(
                "Only FixedRate and ReservoirSize can be changed on the Default rule"
            )
        rule.update(changes)
        updated = {**record, "SamplingRule": rule, "ModifiedAt": self.clock.now()}
        self._save(ctx, updated)
        return {"SamplingRuleRecord": updated}

    def delete_sampling_rule(
        self, ctx: RequestContext, *, rule_name: str | None = None, rule_arn: str | None = None
    ) -> dict[str, Any]:
        record = self._find(ctx, rule_name, rule_arn)
        rule = record["SamplingRule"]
        if rule["RuleName"] == DEFAULT:
            raise InvalidRequestException("The Default sampling rule cannot be deleted")
        with self.store.transaction() as tx:
            tx.delete(KIND, rule["RuleARN"])
        return {"SamplingRuleRecord": record}

    def get_sampling_targets(
        self,
        ctx: RequestContext,
        *,
        sampling_statistics_documents: Sequence[dict[str, Any]],
        **_: Any,  # SamplingBoostStatisticsDocuments: no adaptive boost locally
    ) -> dict[str, Any]:
        rules = self._records(ctx)
        now = self.clock.now()
        targets, unprocessed = [], []
        for doc in sampling_statistics_documents:
            record = rules.get(doc["RuleName"])
            if record is None:
                unprocessed.append(
                    {"RuleName": doc["RuleName"], "ErrorCode": "400", "Message": "Unknown rule"}
                )
                continue
            self._count(ctx, doc, now)
            rule = record["SamplingRule"]
            targets.append(
                {
                    "RuleName": rule["RuleName"],
                    "FixedRate": rule["FixedRate"],
                    "ReservoirQuota": rule["ReservoirSize"],
                    "ReservoirQuotaTTL": now + TARGET_INTERVAL,
                    "Interval": TARGET_INTERVAL,
                }
            )
        return {
            "SamplingTargetDocuments": targets,
            "LastRuleModification": max(r["ModifiedAt"] for r in rules.values()),
            "UnprocessedStatistics": unprocessed,
        }

    def _count(self, ctx: RequestContext, doc: Mapping[str, Any], now: float) -> None:
        key = (_scope(ctx), str(doc["RuleName"]))
        with self._stats_lock:
            stats = self._stats.setdefault(
                key,
                {"RuleName": key[1], "RequestCount": 0, "BorrowCount": 0, "SampledCount": 0},
            )
            for member in ("RequestCount", "BorrowCount", "SampledCount"):
                stats[member] += int(doc.get(member) or 0)
            stats["Timestamp"] = now

    def get_sampling_statistic_summaries(
        self, ctx: RequestContext, *, next_token: str | None = None
    ) -> dict[str, Any]:
        scope = _scope(ctx)
        with self._stats_lock:
            found = [dict(s) for (owner, _), s in sorted(self._stats.items()) if owner == scope]
        return {"SamplingStatisticSummaries": found}
