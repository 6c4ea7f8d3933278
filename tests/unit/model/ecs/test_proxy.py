"""The typed form of an APPMESH proxy configuration, as the runtime will read it."""

from __future__ import annotations

from meshway.model.ecs.proxy import AppMeshProxy, parse_proxy, split_list
from tests.unit.model.ecs.cases import seed


def test_the_seed_proxy_configuration_parses_into_its_properties() -> None:
    assert parse_proxy(seed()["proxyConfiguration"]) == AppMeshProxy(
        container_name="envoy",
        ignored_uid="1337",
        proxy_ingress_port="15000",
        proxy_egress_port="15001",
        app_ports=("9080",),
        egress_ignored_ips=("169.254.170.2", "169.254.169.254"),
    )


def test_lists_split_on_commas_and_one_empty_item_means_none() -> None:
    assert split_list("") == []
    assert split_list(" 22 , 80") == ["22", "80"]
