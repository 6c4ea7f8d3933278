"""Each connected Envoy's own statistics, tagged the way App Mesh tags them.

Envoy's admin listens on 127.0.0.1:9901 inside its task's network namespace (DESIGN.md), so the
server reads `/stats/prometheus` through `ip netns exec` and curl. Which task an Envoy runs in is
found by address: the ADS peer of a connected proxy is the task's IP. Every sample gets the labels
App Mesh's `ENABLE_ENVOY_STATS_TAGS` gives (`appmesh_mesh`, `appmesh_virtual_node` or
`appmesh_virtual_gateway`) plus `ecs_task_id`, unless Envoy already set them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from meshway.model.appmesh.kinds import KindName, parse_arn
from meshway.runtime.netns import netns_name

ADMIN_STATS = "http://127.0.0.1:9901/stats/prometheus"
SCRAPE_SECONDS = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvoyTarget:
    netns: str
    labels: Mapping[str, str]


def peer_ip(peer: str) -> str:
    """The address of a gRPC peer (`ipv4:198.18.0.5:40312`)."""
    if peer.startswith("ipv4:"):
        return peer[5:].rsplit(":", 1)[0]
    return ""


def proxy_labels(key: str) -> dict[str, str]:
    """App Mesh's stats tags for the proxy a cache key (an ARN) names."""
    rid = parse_arn(key)
    if rid is None:
        return {}
    kind = "appmesh_virtual_gateway" if rid.kind is KindName.VIRTUAL_GATEWAY else (
        "appmesh_virtual_node"
    )  # fmt: skip
    return {"appmesh_mesh": rid.mesh, kind: rid.name}


def task_address(task: Mapping[str, Any]) -> str:
    for attachment in task.get("attachments") or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address":
                return str(detail.get("value", ""))
    return ""


def targets(
    proxies: Iterable[tuple[str, str]], running_tasks: Iterable[Mapping[str, Any]]
) -> list[EnvoyTarget]:
    """Envoys to scrape: (peer, cache key) of connected proxies matched to running tasks."""
    by_ip = {task_address(t): t for t in running_tasks if task_address(t)}
    found: dict[str, EnvoyTarget] = {}
    for peer, key in proxies:
        task = by_ip.get(peer_ip(peer))
        if task is None:
            continue
        task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
        labels = {**proxy_labels(key), "ecs_task_id": task_id}
        # One Envoy may hold two streams for a moment (a reconnect): scrape it once.
        found.setdefault(task_id, EnvoyTarget(netns=netns_name(task_id), labels=labels))
    return list(found.values())


async def fetch(target: EnvoyTarget, timeout: float = SCRAPE_SECONDS) -> str:
    """The Envoy's Prometheus text, or "" when it does not answer in time."""
    argv = ["ip", "netns", "exec", target.netns, "curl", "-sf", "--max-time", str(timeout)]
    proc = await asyncio.create_subprocess_exec(
        *argv, ADMIN_STATS, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout + 1)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return ""
    return out.decode(errors="replace") if proc.returncode == 0 else ""


def merge(scraped: Sequence[tuple[Mapping[str, str], str]]) -> list[Metric]:
    """One family per metric name over every Envoy, each sample carrying its Envoy's labels."""
    families: dict[str, Metric] = {}
    for labels, text in scraped:
        try:
            parsed = list(text_string_to_metric_families(text))
        except ValueError:
            continue  # a truncated answer: skip this Envoy rather than fail the scrape
        for family in parsed:
            merged = families.get(family.name)
            if merged is None:
                merged = families[family.name] = Metric(
                    family.name, family.documentation, family.type
                )
            for sample in family.samples:
                merged.add_sample(sample.name, {**labels, **sample.labels}, sample.value)
    return [families[name] for name in sorted(families)]


async def scrape(found: Sequence[EnvoyTarget]) -> list[Metric]:
    texts = await asyncio.gather(*(fetch(t) for t in found))
    return merge([(t.labels, text) for t, text in zip(found, texts, strict=True) if text])
