"""aws-xray-sdk's own sampling connector polls Meshway, unsigned, as through the daemon's proxy."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from aws_xray_sdk.core.sampling.connector import ServiceConnector
from botocore import UNSIGNED

from tests.conftest import ServerProcess, make_client


def test_the_sdk_keeps_meshways_rules_and_gets_targets_for_them(
    server: ServerProcess, unique: str
) -> None:
    url = urlsplit(server.url)
    connector = ServiceConnector()
    connector.setup_xray_client(url.hostname, url.port, None)  # unsigned, as the SDK does
    unsigned: Any = make_client(server.url, "xray", config_kwargs={"signature_version": UNSIGNED})
    name = unique[:32]
    unsigned.create_sampling_rule(
        SamplingRule={
            "RuleName": name,
            "ResourceARN": "*",
            "Priority": 9000,
            "FixedRate": 0.25,
            "ReservoirSize": 2,
            "ServiceName": "colorteller",
            "ServiceType": "*",
            "Host": "*",
            "HTTPMethod": "*",
            "URLPath": "*",
            "Version": 1,
        }
    )
    try:
        rules = {rule.name: rule for rule in connector.fetch_sampling_rules()}
        assert {name, "Default"} <= set(rules)
        assert rules[name].rate == 0.25 and rules["Default"].rate == 0.05
        targets, modified = connector.fetch_sampling_target([rules[name], rules["Default"]])
        assert targets[name]["rate"] == 0.25 and targets[name]["quota"] == 2
        assert targets[name]["TTL"] >= int(time.time())
        assert modified > 0
    finally:
        unsigned.delete_sampling_rule(RuleName=name)
