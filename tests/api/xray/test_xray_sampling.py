"""Sampling rules and targets through boto3, as the SDKs' pollers and the console use them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError


def rule(name: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "RuleName": name,
        "ResourceARN": "*",
        "Priority": 100,
        "FixedRate": 0.5,
        "ReservoirSize": 5,
        "ServiceName": "colorteller",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "GET",
        "URLPath": "/color*",
        "Version": 1,
    }
    return base | changes


def code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def test_every_account_has_a_default_rule_the_sdk_accepts(xray: Any, account: str) -> None:
    (record,) = xray.get_sampling_rules()["SamplingRuleRecords"]
    default = record["SamplingRule"]
    assert default["RuleName"] == "Default"
    assert default["RuleARN"] == f"arn:aws:xray:us-west-2:{account}:sampling-rule/Default"
    assert (default["FixedRate"], default["ReservoirSize"], default["Priority"]) == (0.05, 1, 10000)
    # aws-xray-sdk keeps a rule only if all of these hold (sampling/connector.py _is_rule_valid).
    assert default["Version"] == 1 and default["ResourceARN"] == "*"
    assert default["ServiceType"] and not default.get("Attributes")


def test_rules_are_created_listed_by_priority_updated_and_deleted(xray: Any) -> None:
    created = xray.create_sampling_rule(SamplingRule=rule("colors"))["SamplingRuleRecord"]
    assert created["SamplingRule"]["RuleARN"].endswith(":sampling-rule/colors")
    xray.create_sampling_rule(SamplingRule=rule("first", Priority=1))
    names = [
        r["SamplingRule"]["RuleName"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]
    ]
    assert names == ["first", "colors", "Default"]
    updated = xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "colors", "FixedRate": 0.1})
    assert updated["SamplingRuleRecord"]["SamplingRule"]["FixedRate"] == 0.1
    assert updated["SamplingRuleRecord"]["ModifiedAt"] >= created["ModifiedAt"]
    arn = created["SamplingRule"]["RuleARN"]
    deleted = xray.delete_sampling_rule(RuleARN=arn)["SamplingRuleRecord"]
    assert deleted["SamplingRule"]["RuleName"] == "colors"
    names = [
        r["SamplingRule"]["RuleName"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]
    ]
    assert names == ["first", "Default"]


def test_rule_mistakes_are_invalid_requests(xray: Any) -> None:
    xray.create_sampling_rule(SamplingRule=rule("dup"))
    assert code(xray.create_sampling_rule, SamplingRule=rule("dup")) == "InvalidRequestException"
    assert (
        code(xray.create_sampling_rule, SamplingRule=rule("Default")) == "InvalidRequestException"
    )
    assert (
        code(xray.create_sampling_rule, SamplingRule=rule("v2", Version=2))
        == "InvalidRequestException"
    )
    assert (
        code(xray.create_sampling_rule, SamplingRule=rule("rate", FixedRate=2.0))
        == "InvalidRequestException"
    )
    assert code(xray.delete_sampling_rule, RuleName="Default") == "InvalidRequestException"
    assert code(xray.delete_sampling_rule, RuleName="nope") == "InvalidRequestException"
    assert (
        code(xray.update_sampling_rule, SamplingRuleUpdate={"RuleName": "nope", "FixedRate": 0.1})
        == "InvalidRequestException"
    )
    assert (
        code(xray.update_sampling_rule, SamplingRuleUpdate={"RuleName": "Default", "Host": "x"})
        == "InvalidRequestException"
    )


def test_the_default_rules_rate_and_reservoir_can_be_changed(xray: Any) -> None:
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "FixedRate": 1.0})
    (record,) = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert record["SamplingRule"]["FixedRate"] == 1.0


def test_more_than_25_rules_exceed_the_limit(xray: Any) -> None:
    for i in range(25):
        xray.create_sampling_rule(SamplingRule=rule(f"r{i}"))
    assert code(xray.create_sampling_rule, SamplingRule=rule("r25")) == "RuleLimitExceededException"


def test_targets_answer_known_rules_and_list_unknown_ones(xray: Any) -> None:
    xray.create_sampling_rule(SamplingRule=rule("colors"))
    now = time.time()
    stats = [
        {
            "RuleName": name,
            "ClientID": "a" * 24,
            "Timestamp": now,
            "RequestCount": 10,
            "SampledCount": 3,
            "BorrowCount": 1,
        }
        for name in ("colors", "Default", "ghost")
    ]
    answer = xray.get_sampling_targets(SamplingStatisticsDocuments=stats)
    targets = {t["RuleName"]: t for t in answer["SamplingTargetDocuments"]}
    assert set(targets) == {"colors", "Default"}
    assert targets["colors"]["FixedRate"] == 0.5 and targets["colors"]["ReservoirQuota"] == 5
    assert targets["colors"]["Interval"] == 10
    assert targets["colors"]["ReservoirQuotaTTL"].timestamp() > now
    assert [u["RuleName"] for u in answer["UnprocessedStatistics"]] == ["ghost"]
    summaries = xray.get_sampling_statistic_summaries()["SamplingStatisticSummaries"]
    colors = next(s for s in summaries if s["RuleName"] == "colors")
    assert (colors["RequestCount"], colors["SampledCount"], colors["BorrowCount"]) == (10, 3, 1)


def test_a_rule_created_with_tags_lists_them(xray: Any) -> None:
    record = xray.create_sampling_rule(
        SamplingRule=rule("tagged"), Tags=[{"Key": "a", "Value": "1"}]
    )
    arn = record["SamplingRuleRecord"]["SamplingRule"]["RuleARN"]
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleARN": arn, "ReservoirSize": 9})
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
