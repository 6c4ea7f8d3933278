"""The aws-appmesh CNI rule set, pinned by golden files and checked rule by rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshway.runtime.iptables import (
    InterceptionError,
    interception_from_properties,
    restore_text,
    rule_lines,
)

GOLDEN = Path(__file__).parents[2] / "golden" / "iptables"

SEED = {  # the getting-started task definition's proxyConfiguration
    "IgnoredUID": "1337",
    "ProxyIngressPort": "15000",
    "ProxyEgressPort": "15001",
    "AppPorts": "9080",
    "EgressIgnoredIPs": "169.254.170.2,169.254.169.254",
}


@pytest.mark.parametrize(
    ("name", "properties"),
    [
        ("seed", SEED),
        ("seed-with-ignored-port-22", {**SEED, "EgressIgnoredPorts": "22"}),
        ("egress-only-gid", {"IgnoredGID": "1337", "ProxyEgressPort": "15001"}),
    ],
)
def test_rules_match_the_golden_file(
    name: str, properties: dict[str, str], request: pytest.FixtureRequest
) -> None:
    text = restore_text(interception_from_properties(properties))
    golden = GOLDEN / f"{name}.rules"
    if request.config.getoption("--update-goldens"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_metadata_addresses_are_always_ignored_even_when_not_listed() -> None:
    spec = interception_from_properties(
        {"IgnoredUID": "1337", "ProxyEgressPort": "15001", "EgressIgnoredIPs": "10.0.0.0/8"}
    )
    assert spec.egress_ignored_ips == ("10.0.0.0/8", "169.254.170.2", "169.254.169.254")


def test_only_the_first_fifteen_ports_of_a_list_are_used() -> None:
    ports = ",".join(str(p) for p in range(9000, 9020))
    lines = rule_lines(interception_from_properties({**SEED, "AppPorts": ports}))
    assert "--dports " + ",".join(str(p) for p in range(9000, 9015)) + " " in lines[1]


def test_ipv6_ignored_addresses_are_accepted_but_make_no_ipv4_rule() -> None:
    spec = interception_from_properties({**SEED, "EgressIgnoredIPs": "fd00::/8"})
    assert not any("fd00" in line for line in rule_lines(spec))


def test_no_ingress_chain_without_app_ports_and_ingress_port() -> None:
    lines = rule_lines(interception_from_properties({"IgnoredUID": "1", "ProxyEgressPort": "2"}))
    assert not any("INGRESS" in line for line in lines)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"ProxyEgressPort": "15001"}, "missing required parameter ignoredGID or ignoredUID"),
        ({"IgnoredUID": "1337"}, "missing required parameter proxyEgressPort"),
        (
            {"IgnoredUID": "1", "ProxyEgressPort": "2", "AppPorts": "9080"},
            "missing parameter proxyIngressPort (required if appPorts are provided)",
        ),
        (
            {"IgnoredUID": "1", "ProxyEgressPort": "2", "ProxyIngressPort": "3"},
            "missing parameter appPorts (required if proxyIngressPort is provided)",
        ),
        ({**SEED, "AppPorts": "9080,x"}, "invalid port [x] specified"),
        ({**SEED, "ProxyEgressPort": "0"}, "invalid port [0] specified"),
        (
            {**SEED, "EgressIgnoredIPs": "300.1.1.1"},
            "invalid IP or CIDR block [300.1.1.1] specified in egressIgnoredIPs",
        ),
    ],
)
def test_properties_the_plugin_refuses_are_refused_with_its_words(
    properties: dict[str, str], message: str
) -> None:
    with pytest.raises(InterceptionError) as caught:
        interception_from_properties(properties)
    assert str(caught.value) == message
