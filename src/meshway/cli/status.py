"""`meshway status`: tasks, ECS services and proxies at a glance, from a running server.

Everything comes through the server's endpoint as any client would see it: ECS ListClusters /
ListServices / DescribeServices / ListTasks / DescribeTasks, and `GET /meshway/proxies` for the
Envoys connected to the control plane. `summarize_*` turn the API's answers into rows (pure).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click

from meshway.cli import common
from meshway.cli.proxies import _get as get_json

PAGE = 100  # DescribeTasks and DescribeServices take at most this many (10 for services)


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _address(task: Mapping[str, Any]) -> str | None:
    for attachment in task.get("attachments") or ():
        for detail in attachment.get("details") or ():
            if detail.get("name") == "privateIPv4Address":
                return str(detail["value"])
    return None


def summarize_task(cluster: str, task: Mapping[str, Any]) -> dict[str, Any]:
    containers = [
        {
            "name": c.get("name"),
            "lastStatus": c.get("lastStatus"),
            "healthStatus": c.get("healthStatus"),
            "exitCode": c.get("exitCode"),
        }
        for c in task.get("containers") or ()
    ]
    return {
        "taskId": str(task["taskArn"]).rsplit("/", 1)[-1],
        "cluster": cluster.rsplit("/", 1)[-1],
        "group": task.get("group"),
        "taskDefinition": str(task.get("taskDefinitionArn", "")).rsplit("/", 1)[-1],
        "lastStatus": task.get("lastStatus"),
        "desiredStatus": task.get("desiredStatus"),
        "healthStatus": task.get("healthStatus"),
        "address": _address(task),
        "stoppedReason": task.get("stoppedReason"),
        "containers": containers,
    }


def summarize_service(cluster: str, service: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "serviceName": service.get("serviceName"),
        "cluster": cluster.rsplit("/", 1)[-1],
        "status": service.get("status"),
        "desiredCount": service.get("desiredCount"),
        "runningCount": service.get("runningCount"),
        "pendingCount": service.get("pendingCount"),
        "taskDefinition": str(service.get("taskDefinition", "")).rsplit("/", 1)[-1],
    }


def summarize_proxy(proxy: Mapping[str, Any]) -> dict[str, Any]:
    nack = proxy.get("lastNack")
    state = "IN SYNC" if proxy.get("inSync") else "PENDING"
    if nack is not None and not proxy.get("inSync"):
        state = "NACKED"
    return {
        "nodeId": proxy.get("nodeId"),
        "state": state,
        "protocol": proxy.get("protocol"),
        "peer": proxy.get("peer"),
        "lastNack": nack.get("message") if isinstance(nack, Mapping) else None,
    }


def _paged(ecs: Any, operation: str, member: str, **where: Any) -> list[str]:
    found: list[str] = []
    for page in ecs.get_paginator(operation).paginate(**where):
        found += page[member]
    return found


def read(ecs: Any, endpoint: str) -> dict[str, list[dict[str, Any]]]:
    tasks: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for cluster in _paged(ecs, "list_clusters", "clusterArns"):
        names = _paged(ecs, "list_services", "serviceArns", cluster=cluster)
        for chunk in _chunks(names, 10):
            for service in ecs.describe_services(cluster=cluster, services=chunk)["services"]:
                services.append(summarize_service(cluster, service))
        arns = _paged(ecs, "list_tasks", "taskArns", cluster=cluster)
        for chunk in _chunks(arns, PAGE):
            for task in ecs.describe_tasks(cluster=cluster, tasks=chunk)["tasks"]:
                tasks.append(summarize_task(cluster, task))
    proxies = [summarize_proxy(p) for p in get_json(endpoint, "/meshway/proxies")["proxies"]]
    return {"tasks": tasks, "services": services, "proxies": proxies}


def _containers(task: Mapping[str, Any]) -> str:
    parts = []
    for c in task["containers"]:
        extra = c["healthStatus"] if c["healthStatus"] not in (None, "UNKNOWN") else None
        code = f"exit {c['exitCode']}" if c["exitCode"] is not None else None
        detail = ", ".join(x for x in (extra, code) if x)
        parts.append(f"{c['name']}:{c['lastStatus']}" + (f" ({detail})" if detail else ""))
    return " ".join(parts)


def render(found: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    out = common.console()
    out.print(
        common.table(
            "Services",
            ("CLUSTER", "SERVICE", "STATUS", "DESIRED", "RUNNING", "PENDING", "TASK DEFINITION"),
            [
                (
                    s["cluster"],
                    s["serviceName"],
                    s["status"],
                    s["desiredCount"],
                    s["runningCount"],
                    s["pendingCount"],
                    s["taskDefinition"],
                )
                for s in found["services"]
            ],
        )
    )
    out.print(
        common.table(
            "Tasks",
            (
                "CLUSTER",
                "TASK",
                "GROUP",
                "STATUS",
                "HEALTH",
                "ADDRESS",
                "CONTAINERS",
                "STOPPED REASON",
            ),
            [
                (
                    t["cluster"],
                    t["taskId"],
                    t["group"],
                    t["lastStatus"],
                    t["healthStatus"],
                    t["address"],
                    _containers(t),
                    t["stoppedReason"],
                )
                for t in found["tasks"]
            ],
        )
    )
    out.print(
        common.table(
            "Proxies",
            ("NODE", "STATE", "PROTOCOL", "PEER", "LAST NACK"),
            [
                (p["nodeId"], p["state"], p["protocol"], p["peer"], p["lastNack"])
                for p in found["proxies"]
            ],
        )
    )


@click.command()
@common.ENDPOINT
@common.REGION
@common.OUTPUT
@common.aws_errors
def status(endpoint_url: str, region: str | None, output: str) -> None:
    """Tasks, ECS services and connected proxies at a glance."""
    found = read(common.client(endpoint_url, "ecs", region), endpoint_url)
    if output == "json":
        common.print_json(found)
    else:
        render(found)
