"""The name table of the task resolver (pure): which names tasks can resolve, and to what.

Three sources, the first that knows a name wins:
1. registry names (Cloud Map records, fed by ECS service registries through `set_records`) →
   the healthy instances' addresses with the registry's TTL;
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshway.model.ecs.tasks import ENI_ATTACHMENT
from meshway.runtime.launch import hostname_for, task_id_of
from meshway.store.base import Record

DEFAULT_TTL = 5  # seconds: names change as tasks come and go
MAX_ANSWERS = 8  # what Route 53 returns for a multivalue answer; keeps replies far under 512 bytes
_SYNTHETIC_SHARE = 4  # reserve 1/2**4 of the CIDR
_SMALLEST_SHARED_CIDR = 24  # below a /24 the CIDR is too small to give any of it away


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    addresses: tuple[str, ...]
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True, slots=True, kw_only=True)
class NameTable:
    entries: Mapping[str, Answer] = field(default_factory=dict)

    def lookup(self, name: str) -> Answer | None:
        return self.entries.get(normalize(name))


def normalize(name: str) -> str:
    """DNS names compare case-insensitively; the root label's dot is not part of the name."""
    return name.rstrip(".").lower()


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
    registry: Mapping[str, Answer],
    virtual_services: Mapping[str, str],
    task_hosts: Iterable[tuple[str, str]],
    ttl: int = DEFAULT_TTL,
) -> NameTable:
    """`virtual_services` maps each name to its synthetic address (`assign_synthetic`);
    `task_hosts` are (hostname, address) pairs. A registry name with no healthy address left
    falls back to the virtual service's synthetic address, so the app still reaches Envoy."""
    entries: dict[str, Answer] = {}
    for host, address in task_hosts:
        entries.setdefault(normalize(host), Answer(addresses=(address,), ttl=ttl))
    for name, address in virtual_services.items():
        entries[normalize(name)] = Answer(addresses=(address,), ttl=ttl)
    for name, answer in registry.items():
        if answer.addresses or normalize(name) not in virtual_services:
            entries[normalize(name)] = answer
    return NameTable(entries=entries)


def pick(addresses: tuple[str, ...], start: int, limit: int = MAX_ANSWERS) -> tuple[str, ...]:
    """At most `limit` addresses, rotated by `start` so that successive answers spread load."""
    if len(addresses) <= 1:
        return addresses
    offset = start % len(addresses)
    rotated = addresses[offset:] + addresses[:offset]
    return rotated[:limit]


# -- reading the store's records (no I/O: the caller lists them) ----------------------------


def virtual_service_names(records: Iterable[Record]) -> set[str]:
    """Names of `appmesh.virtualService` records (the record's name is the service's name)."""
    return {normalize(r.name) for r in records if r.name}


def task_hosts(records: Iterable[Record]) -> list[tuple[str, str]]:
    """(hostname, address) of the `ecs.task` records that have an address and are not STOPPED."""
    found = []
    for record in records:
        address = _task_address(record.body)
        if address and record.body.get("lastStatus") != "STOPPED":
            found.append((hostname_for(task_id_of(record.key)), address))
    return found


def _task_address(body: Mapping[str, Any]) -> str | None:
    for attachment in body.get("attachments") or ():
        if attachment.get("type") == ENI_ATTACHMENT and attachment.get("status") != "DELETED":
            details = {d["name"]: d["value"] for d in attachment.get("details") or ()}
            return details.get("privateIPv4Address")
    return None
