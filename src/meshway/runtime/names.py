"""The name table of the task resolver (pure): which names tasks can resolve, and to what.

Three sources, the first that knows a name wins:
1. registry names: the Cloud Map DNS records of model/servicediscovery/dns.py (A, AAAA, SRV,
   CNAME with their service's TTL and routing policy; zones for SOA and NXDOMAIN) — unless no
   instance behind the name is healthy and the name is also a virtual service;
2. every virtual service name of every mesh on this server → one synthetic address per name;
3. every live ECS task's hostname → its address.

Why virtual service names need an address at all: an app calls `colorteller.demo.local:9080`, and
it must resolve before the app ever connects (App Mesh's "the name must resolve" trap, roadmap
#330). Which address does not matter for HTTP through the mesh: iptables redirects the connection
to Envoy in OUTPUT, before any neighbour lookup, and Envoy routes by Host (measured:
runtime-spike.md §5). But the address must be inside the task CIDR, the only route a task has;
any other destination fails with "network unreachable" before the redirect is reached. So the last
sixteenth of the CIDR (198.18.240.0/20 for the default /16) is reserved for these addresses and
never handed to tasks (netns.AddressPool stops below it). dns.py serves this table; netns.py
keeps its per-task files.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from meshway.model.ecs.tasks import task_address
from meshway.model.servicediscovery.dns import (
    AAAA,
    CNAME,
    A,
    RecordSet,
    Srv,
    Value,
    Zone,
    ZoneRecords,
    normalize,
    zone_of,
)
from meshway.runtime.launch import hostname_for, task_id_of
from meshway.store.base import Record

DEFAULT_TTL = 5  # seconds: names change as tasks come and go
MAX_CNAME_CHAIN = 8  # CNAMEs followed inside the table before answering what was found
ANY = "ANY"
SOA = "SOA"
_SYNTHETIC_SHARE = 4  # reserve 1/2**4 of the CIDR
_SMALLEST_SHARED_CIDR = 24  # below a /24 the CIDR is too small to give any of it away


@dataclass(frozen=True, slots=True, kw_only=True)
class NameTable:
    """name → record type → record set, plus the Cloud Map zones (for SOA and NXDOMAIN)."""

    records: Mapping[str, Mapping[str, RecordSet]] = field(default_factory=dict)
    zones: Mapping[str, Zone] = field(default_factory=dict)

    def lookup(self, name: str) -> Mapping[str, RecordSet] | None:
        """The record sets of a name; empty when it exists without data; None when it does not."""
        key = normalize(name)
        found = self.records.get(key)
        if found is None and key in self.zones:
            return {}
        return found

    def zone_of(self, name: str) -> Zone | None:
        return zone_of(name, self.zones)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rr:
    name: str
    rtype: str
    ttl: int
    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """What to answer: `exists` False is NXDOMAIN; `soa` goes in the answer (an SOA query at a
    zone apex), `authority` in the authority section (negative answers inside a zone)."""

    exists: bool
    answers: tuple[Rr, ...] = ()
    additional: tuple[Rr, ...] = ()
    soa: Zone | None = None
    authority: Zone | None = None


def gateway_of(cidr: str) -> str:
    """The bridge's address: the first host of the task CIDR (as netns.AddressPool has it)."""
    return str(ipaddress.IPv4Network(cidr).network_address + 1)


def synthetic_block(cidr: str) -> ipaddress.IPv4Network | None:
    """The part of the task CIDR reserved for synthetic addresses: its last sixteenth, or None
    when the CIDR is smaller than a /24 (then every name gets the gateway address)."""
    network = ipaddress.IPv4Network(cidr)
    if network.prefixlen > _SMALLEST_SHARED_CIDR:
        return None
    prefix = network.prefixlen + _SYNTHETIC_SHARE
    size = 1 << (32 - prefix)
    return ipaddress.IPv4Network((int(network.broadcast_address) + 1 - size, prefix))


def assign_synthetic(
    names: Iterable[str], cidr: str, previous: Mapping[str, str] | None = None
) -> dict[str, str]:
    """One address per name: a name keeps the address it had (`previous`), a new name takes the
    slot its hash points at, or the next free one. Deterministic for a given set and history."""
    block = synthetic_block(cidr)
    wanted = sorted({normalize(n) for n in names})
    if block is None:
        return {name: gateway_of(cidr) for name in wanted}
    first = int(block.network_address)
    size = block.num_addresses - 1  # the block's last address is the CIDR's broadcast
    kept = {
        name: addr
        for name, addr in (previous or {}).items()
        if name in wanted and first <= int(ipaddress.IPv4Address(addr)) < first + size
    }
    used = {int(ipaddress.IPv4Address(a)) - first for a in kept.values()}
    assigned = dict(kept)
    for name in wanted:
        if name not in assigned:
            slot = _free_slot(_hash_slot(name, size), used, size)
            used.add(slot)
            assigned[name] = str(ipaddress.IPv4Address(first + slot))
    return assigned


def _hash_slot(name: str, size: int) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % size


def _free_slot(start: int, used: set[int], size: int) -> int:
    """Linear probing; when every slot is taken, names share (still a route into the CIDR)."""
    for step in range(size):
        slot = (start + step) % size
        if slot not in used:
            return slot
    return start


def build_table(
    *,
    registry: ZoneRecords,
    virtual_services: Mapping[str, str],
    task_hosts: Iterable[tuple[str, str]],
    ttl: int = DEFAULT_TTL,
) -> NameTable:
    """`virtual_services` maps each name to its synthetic address (`assign_synthetic`);
    `task_hosts` are (hostname, address) pairs. A registry name with no healthy value left
    falls back to the virtual service's synthetic address, so the app still reaches Envoy (and
    Envoy, which knows endpoint health, picks); a registry name that is no virtual service
    answers as Route 53 does then (fail open, see model/servicediscovery/dns.py)."""
    entries: dict[str, Mapping[str, RecordSet]] = {}
    for host, address in task_hosts:
        entries.setdefault(normalize(host), {A: RecordSet(ttl=ttl, healthy=(address,))})
    for name, address in virtual_services.items():
        entries[normalize(name)] = {A: RecordSet(ttl=ttl, healthy=(address,))}
    for name, sets in registry.records.items():
        if name in virtual_services and not _any_healthy(sets):
            continue
        entries[name] = sets
    return NameTable(records=entries, zones=registry.zones)


def _any_healthy(sets: Mapping[str, RecordSet]) -> bool:
    return any(s.has_healthy for s in sets.values())


def resolve(table: NameTable, name: str, qtype: str, rng: random.Random) -> Resolution:
    """The answer to one question. CNAMEs are followed while their targets are in the table
    (nothing is ever forwarded); SRV answers carry their targets' addresses as additional data."""
    answers: list[Rr] = []
    owner = name
    for _ in range(MAX_CNAME_CHAIN):
        sets = table.lookup(owner)
        if sets is None:
            if answers:  # a CNAME to a name outside: the client gets the CNAME
                break
            return Resolution(exists=False, authority=table.zone_of(name))
        if qtype == SOA or (qtype == ANY and not answers):
            apex = table.zones.get(normalize(owner))
            if apex is not None:
                return Resolution(exists=True, soa=apex, answers=tuple(_all(owner, sets, rng)))
        if qtype == ANY:
            answers.extend(_all(owner, sets, rng))
            break
        if qtype in sets:
            answers.extend(_chosen(owner, qtype, sets[qtype], rng))
            break
        if CNAME in sets and qtype != CNAME:
            cname = _chosen(owner, CNAME, sets[CNAME], rng)
            answers.extend(cname)
            owner = str(cname[0].value)
            continue
        break
    additional = _srv_addresses(table, answers, rng)
    authority = None if answers else table.zone_of(name)
    return Resolution(
        exists=True, answers=tuple(answers), additional=additional, authority=authority
    )


def _chosen(owner: str, rtype: str, records: RecordSet, rng: random.Random) -> list[Rr]:
    return [Rr(name=owner, rtype=rtype, ttl=records.ttl, value=v) for v in records.choose(rng)]


def _all(owner: str, sets: Mapping[str, RecordSet], rng: random.Random) -> list[Rr]:
    return [rr for rtype in sorted(sets) for rr in _chosen(owner, rtype, sets[rtype], rng)]


def _srv_addresses(table: NameTable, answers: list[Rr], rng: random.Random) -> tuple[Rr, ...]:
    found: list[Rr] = []
    for answer in answers:
        if isinstance(answer.value, Srv):
            sets = table.lookup(answer.value.target) or {}
            for rtype in (A, AAAA):
                if rtype in sets:
                    found.extend(_chosen(answer.value.target, rtype, sets[rtype], rng))
    return tuple(found)


# -- reading the store's records (no I/O: the caller lists them) ----------------------------


def virtual_service_names(records: Iterable[Record]) -> set[str]:
    """Names of `appmesh.virtualService` records (the record's name is the service's name)."""
    return {normalize(r.name) for r in records if r.name}


def task_hosts(records: Iterable[Record]) -> list[tuple[str, str]]:
    """(hostname, address) of the `ecs.task` records that have an address and are not STOPPED."""
    found = []
    for record in records:
        address = task_address(record.body)
        if address and record.body.get("lastStatus") != "STOPPED":
            found.append((hostname_for(task_id_of(record.key)), address))
    return found
