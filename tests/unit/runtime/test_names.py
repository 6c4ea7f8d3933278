"""The resolver's name table: sources, precedence, synthetic addresses, store records."""

from __future__ import annotations

import ipaddress

import pytest

from meshway.runtime.names import (
    Answer,
    assign_synthetic,
    build_table,
    gateway_of,
    pick,
    synthetic_block,
    task_hosts,
    virtual_service_names,
)
from meshway.runtime.netns import AddressPool, AddressPoolExhaustedError
from meshway.store.base import Record

CIDR = "198.18.0.0/16"
ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/"


def task(task_id: str, ip: str | None, last: str = "RUNNING", eni: str = "ATTACHED") -> Record:
    details = [{"name": "privateIPv4Address", "value": ip}] if ip else []
    body = {
        "taskArn": ARN + task_id,
        "lastStatus": last,
        "attachments": [{"type": "ElasticNetworkInterface", "status": eni, "details": details}],
    }
    return Record(kind="ecs.task", key=ARN + task_id, body=body)


def test_the_synthetic_block_is_the_last_sixteenth_of_the_task_cidr() -> None:
    assert synthetic_block(CIDR) == ipaddress.IPv4Network("198.18.240.0/20")
    assert synthetic_block("10.0.0.0/24") == ipaddress.IPv4Network("10.0.0.240/28")
    assert synthetic_block("10.0.0.0/25") is None  # too small to give any away


def test_the_task_pool_never_hands_out_a_synthetic_address() -> None:
    pool = AddressPool("10.0.0.0/24")
    got = [pool.allocate(f"t{i}") for i in range(238)]  # .2 .. .239
    assert got[-1] == "10.0.0.239"
    with pytest.raises(AddressPoolExhaustedError):
        pool.allocate("one-more")
    assert not any(ipaddress.IPv4Address(a) in synthetic_block("10.0.0.0/24") for a in got)


def test_each_name_gets_its_own_stable_address_inside_the_block() -> None:
    names = [f"svc{i}.demo.local" for i in range(50)]
    first = assign_synthetic(names, CIDR)
    assert len(set(first.values())) == 50
    block = synthetic_block(CIDR)
    assert all(ipaddress.IPv4Address(a) in block for a in first.values())
    assert "198.18.255.255" not in first.values()  # the broadcast address is never used
    assert assign_synthetic(reversed(names), CIDR) == first  # order does not matter


def test_a_name_keeps_its_address_when_others_come_and_go() -> None:
    before = assign_synthetic(["a.local", "b.local"], CIDR)
    after = assign_synthetic(["b.local", "c.local"], CIDR, before)
    assert after["b.local"] == before["b.local"]
    assert set(after) == {"b.local", "c.local"}


def test_names_compare_without_case_or_trailing_dot() -> None:
    assigned = assign_synthetic(["ColorTeller.Demo.Local."], CIDR)
    table = build_table(registry={}, virtual_services=assigned, task_hosts=[])
    assert table.lookup("colorteller.demo.local") == table.lookup("COLORTELLER.demo.local.")
    assert table.lookup("colorteller.demo.local") is not None


def test_when_the_block_is_full_names_share_an_address_instead_of_failing() -> None:
    assigned = assign_synthetic([f"n{i}" for i in range(20)], "10.0.0.0/24")  # 15 slots
    assert len(assigned) == 20
    assert len(set(assigned.values())) == 15


def test_a_tiny_cidr_answers_every_virtual_service_with_the_gateway() -> None:
    assert assign_synthetic(["x.local"], "10.1.0.0/28") == {"x.local": "10.1.0.1"}
    assert gateway_of(CIDR) == "198.18.0.1"


def test_a_registry_name_wins_over_the_synthetic_address_of_a_virtual_service() -> None:
    table = build_table(
        registry={"colorteller.demo.local": Answer(addresses=("198.18.0.7", "198.18.0.8"), ttl=10)},
        virtual_services={
            "colorteller.demo.local": "198.18.250.1",
            "gw.demo.local": "198.18.250.2",
        },
        task_hosts=[("ip-1234abcd", "198.18.0.7")],
    )
    assert table.lookup("colorteller.demo.local") == Answer(
        addresses=("198.18.0.7", "198.18.0.8"), ttl=10
    )
    assert table.lookup("gw.demo.local") == Answer(addresses=("198.18.250.2",), ttl=5)
    assert table.lookup("ip-1234abcd") == Answer(addresses=("198.18.0.7",), ttl=5)
    assert table.lookup("unknown.demo.local") is None


def test_a_registry_name_without_healthy_addresses_falls_back_to_the_virtual_service() -> None:
    table = build_table(
        registry={
            "colorteller.demo.local": Answer(addresses=()),
            "only-registry.local": Answer(addresses=()),
        },
        virtual_services={"colorteller.demo.local": "198.18.250.1"},
        task_hosts=[],
    )
    assert table.lookup("colorteller.demo.local") == Answer(addresses=("198.18.250.1",))
    assert table.lookup("only-registry.local") == Answer(addresses=())  # known, no address


def test_answers_rotate_and_never_exceed_eight() -> None:
    addresses = tuple(f"198.18.0.{i}" for i in range(2, 14))
    assert pick(addresses, 0) == addresses[:8]
    assert pick(addresses, 3) == addresses[3:11]
    assert pick(addresses, 11) == (addresses[11], *addresses[:7])
    assert pick(("198.18.0.2",), 5) == ("198.18.0.2",)


def test_virtual_service_names_come_from_the_record_names() -> None:
    records = [
        Record(kind="appmesh.virtualService", key="arn1", name="ColorTeller.demo.local", body={}),
        Record(kind="appmesh.virtualService", key="arn2", name="colorgateway.demo.local", body={}),
    ]
    assert virtual_service_names(records) == {"colorteller.demo.local", "colorgateway.demo.local"}


def test_task_hosts_are_live_tasks_with_an_address() -> None:
    records = [
        task("1234abcd5678", "198.18.0.2"),
        task("9999aaaa0000", None),  # not provisioned yet
        task("5555bbbb0000", "198.18.0.3", last="STOPPED", eni="DELETED"),
        task("7777cccc0000", "198.18.0.4", eni="DELETED"),  # stopping, ENI already gone
    ]
    assert task_hosts(records) == [("ip-1234abcd", "198.18.0.2")]
