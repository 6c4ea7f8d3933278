"""The resolver's name table: sources, precedence, synthetic addresses, store records."""

from __future__ import annotations

import ipaddress
import random

import pytest

from meshway.model.servicediscovery.dns import RecordSet, Srv, Zone, ZoneRecords
from meshway.runtime.names import (
    NameTable,
    Rr,
    assign_synthetic,
    build_table,
    gateway_of,
    resolve,
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
    block = synthetic_block("10.0.0.0/24")
    assert block is not None
    assert not any(ipaddress.IPv4Address(a) in block for a in got)


def test_each_name_gets_its_own_stable_address_inside_the_block() -> None:
    names = [f"svc{i}.demo.local" for i in range(50)]
    first = assign_synthetic(names, CIDR)
    assert len(set(first.values())) == 50
    block = synthetic_block(CIDR)
    assert block is not None
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
    table = build_table(registry=ZoneRecords(), virtual_services=assigned, task_hosts=[])
    assert table.lookup("colorteller.demo.local") == table.lookup("COLORTELLER.demo.local.")
    assert table.lookup("colorteller.demo.local") is not None


def test_when_the_block_is_full_names_share_an_address_instead_of_failing() -> None:
    assigned = assign_synthetic([f"n{i}" for i in range(20)], "10.0.0.0/24")  # 15 slots
    assert len(assigned) == 20
    assert len(set(assigned.values())) == 15


def test_a_tiny_cidr_answers_every_virtual_service_with_the_gateway() -> None:
    assert assign_synthetic(["x.local"], "10.1.0.0/28") == {"x.local": "10.1.0.1"}
    assert gateway_of(CIDR) == "198.18.0.1"


def a_set(*addresses: str, ttl: int = 5, unhealthy: tuple[str, ...] = ()) -> dict[str, RecordSet]:
    return {"A": RecordSet(ttl=ttl, healthy=addresses, unhealthy=unhealthy)}


def addresses(table: NameTable, name: str, qtype: str = "A") -> list[str]:
    found = resolve(table, name, qtype, random.Random(0))
    return sorted(str(rr.value) for rr in found.answers)


def test_a_registry_name_wins_over_the_synthetic_address_of_a_virtual_service() -> None:
    table = build_table(
        registry=ZoneRecords(records={"colorteller.demo.local": a_set("198.18.0.7", "198.18.0.8")}),
        virtual_services={
            "colorteller.demo.local": "198.18.250.1",
            "gw.demo.local": "198.18.250.2",
        },
        task_hosts=[("ip-1234abcd", "198.18.0.7")],
    )
    assert addresses(table, "colorteller.demo.local") == ["198.18.0.7", "198.18.0.8"]
    assert table.lookup("gw.demo.local") == a_set("198.18.250.2")
    assert table.lookup("ip-1234abcd") == a_set("198.18.0.7")
    assert table.lookup("unknown.demo.local") is None


def test_a_registry_name_without_healthy_values_falls_back_to_the_virtual_service() -> None:
    table = build_table(
        registry=ZoneRecords(
            records={
                "colorteller.demo.local": a_set(unhealthy=("198.18.0.7",)),
                "only-registry.local": a_set(unhealthy=("198.18.0.9",)),
            }
        ),
        virtual_services={"colorteller.demo.local": "198.18.250.1"},
        task_hosts=[],
    )
    assert addresses(table, "colorteller.demo.local") == ["198.18.250.1"]
    assert addresses(table, "only-registry.local") == ["198.18.0.9"]  # Route 53 fails open


ZONE = Zone(name="demo.local", negative_ttl=30)
SRV_TARGET = "i-1.api.demo.local"
CLOUD_MAP = ZoneRecords(
    zones={"demo.local": ZONE},
    records={
        "api.demo.local": {
            "SRV": RecordSet(
                ttl=60, healthy=(Srv(priority=1, weight=1, port=80, target=SRV_TARGET),)
            )
        },
        SRV_TARGET: a_set("10.0.0.2", ttl=60),
        "www.demo.local": {"CNAME": RecordSet(ttl=300, healthy=("api2.demo.local",), limit=1)},
        "api2.demo.local": a_set("10.0.0.3", ttl=10),
        "ext.demo.local": {"CNAME": RecordSet(ttl=300, healthy=("example.com",), limit=1)},
        "_tcp.demo.local": {},
    },
)
TABLE = build_table(registry=CLOUD_MAP, virtual_services={}, task_hosts=[])


def test_an_srv_answer_carries_its_targets_address_as_additional_data() -> None:
    found = resolve(TABLE, "API.demo.local", "SRV", random.Random(0))
    assert found.answers == (
        Rr(
            name="API.demo.local",
            rtype="SRV",
            ttl=60,
            value=CLOUD_MAP.records["api.demo.local"]["SRV"].healthy[0],
        ),
    )
    assert found.additional == (Rr(name=SRV_TARGET, rtype="A", ttl=60, value="10.0.0.2"),)


def test_a_cname_is_followed_inside_the_table_and_returned_alone_when_it_leads_outside() -> None:
    found = resolve(TABLE, "www.demo.local", "A", random.Random(0))
    assert [(rr.name, rr.rtype, rr.value) for rr in found.answers] == [
        ("www.demo.local", "CNAME", "api2.demo.local"),
        ("api2.demo.local", "A", "10.0.0.3"),
    ]
    outside = resolve(TABLE, "ext.demo.local", "A", random.Random(0))
    assert [(rr.rtype, rr.value) for rr in outside.answers] == [("CNAME", "example.com")]
    assert outside.exists


def test_a_name_that_exists_without_the_asked_type_is_empty_with_the_zone_soa() -> None:
    for name, qtype in [("api.demo.local", "A"), ("_tcp.demo.local", "A"), ("demo.local", "A")]:
        found = resolve(TABLE, name, qtype, random.Random(0))
        assert (found.exists, found.answers, found.authority) == (True, (), ZONE), name


def test_a_missing_name_inside_a_zone_is_nxdomain_with_the_soa_and_outside_without() -> None:
    inside = resolve(TABLE, "nothing.demo.local", "A", random.Random(0))
    assert (inside.exists, inside.authority) == (False, ZONE)
    outside = resolve(TABLE, "example.com", "A", random.Random(0))
    assert (outside.exists, outside.authority) == (False, None)


def test_the_apex_answers_soa_and_any_lists_every_type() -> None:
    assert resolve(TABLE, "demo.local.", "SOA", random.Random(0)).soa == ZONE
    found = resolve(TABLE, SRV_TARGET, "ANY", random.Random(0))
    assert [(rr.rtype, rr.value) for rr in found.answers] == [("A", "10.0.0.2")]


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
