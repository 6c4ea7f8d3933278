"""One invalid task definition per RegisterTaskDefinition rule, each a small edit of the seed's
plain App Mesh task definition, with the ClientException message ECS gives for it.

Shared by the model's unit test, the service test (nothing stored) and the boto3 test, so the
same table is checked at all three levels. Values are omitted rather than set to null so that
boto3's client-side type checks let every case reach the server.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = Path(__file__).parents[3] / "data" / "seed"


def seed(name: str = "appmesh-task-definition.json") -> dict[str, Any]:
    return json.loads((SEED / name).read_text())


Definition = dict[str, Any]


@dataclass(frozen=True)
class Case:
    rule: str
    edit: Callable[[Definition], None]
    message: str

    def definition(self) -> Definition:
        definition = copy.deepcopy(seed())
        self.edit(definition)
        return definition


def app(d: Definition) -> dict[str, Any]:
    return d["containerDefinitions"][0]


def envoy(d: Definition) -> dict[str, Any]:
    return d["containerDefinitions"][1]


def prop(d: Definition, name: str) -> dict[str, Any]:
    return next(p for p in d["proxyConfiguration"]["properties"] if p["name"] == name)


def drop_prop(d: Definition, name: str) -> None:
    d["proxyConfiguration"]["properties"].remove(prop(d, name))


def set_prop(name: str, value: str) -> Callable[[Definition], None]:
    return lambda d: prop(d, name).update(value=value)


def health(field: str, value: int) -> Callable[[Definition], None]:
    return lambda d: envoy(d)["healthCheck"].update({field: value})


def bridge_without_proxy(d: Definition) -> None:
    del d["proxyConfiguration"]
    d["networkMode"] = "bridge"


def many_containers(d: Definition) -> None:
    d["containerDefinitions"] += [
        {"name": f"extra{i}", "image": "busybox", "essential": False} for i in range(9)
    ]


def links_cycle(d: Definition) -> None:
    bridge_without_proxy(d)
    app(d)["links"] = ["envoy:proxy"]
    envoy(d)["links"] = ["app"]


def fargate(
    cpu: str | None, memory: str | None, mode: str = "awsvpc"
) -> Callable[[Definition], None]:
    def edit(d: Definition) -> None:
        d["requiresCompatibilities"] = ["FARGATE"]
        d["networkMode"] = mode
        if mode != "awsvpc":
            del d["proxyConfiguration"]
        for key, value in (("cpu", cpu), ("memory", memory)):
            if value is None:
                d.pop(key, None)
            else:
                d[key] = value

    return edit


HC_MAX = (
    "Health check {} must be less than or equal to the maximum allowed value {} "
    "for container 'envoy'"
)
HC_MIN = (
    "Health check {} must be greater than or equal to the minimum allowed value {} "
    "for container 'envoy'"
)
TERMINAL_ESSENTIAL = (
    "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"
)
AWSVPC_PORTS = (
    "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
)


def condition(value: str) -> Callable[[Definition], None]:
    return lambda d: app(d)["dependsOn"][0].update(condition=value)


CASES: list[Case] = [
    Case(
        "family-characters",
        lambda d: d.update(family="bad family!"),
        "Family contains invalid characters.",
    ),
    Case(
        "family-length", lambda d: d.update(family="f" * 256), "Family contains invalid characters."
    ),
    Case(
        "containers-empty",
        lambda d: d.update(containerDefinitions=[]),
        "Container list cannot be empty.",
    ),
    Case("containers-too-many", many_containers, "Too many containers."),
    Case(
        "name-missing", lambda d: app(d).pop("name"), "Container.name should not be null or empty."
    ),
    Case(
        "name-characters",
        lambda d: app(d).update(name="app!"),
        "Container.name contains invalid characters.",
    ),
    Case(
        "image-missing",
        lambda d: app(d).pop("image"),
        "Container.image should not be null or empty.",
    ),
    Case(
        "image-characters",
        lambda d: app(d).update(image="my image"),
        "Container.image contains invalid characters.",
    ),
    Case(
        "names-unique",
        lambda d: envoy(d).update(name="app"),
        "Container names must be unique within a Task Definition.",
    ),
    Case(
        "essential-none",
        lambda d: [c.update(essential=False) for c in d["containerDefinitions"]],
        "Task definition doesn't have any essential container.",
    ),
    Case(
        "memory-none",
        lambda d: d.pop("memory"),
        "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' "
        "must be specified.",
    ),
    Case(
        "memory-over-task",
        lambda d: app(d).update(memory=512),
        "The 'memory' setting for container 'app' is greater than for the task.",
    ),
    Case(
        "reservation-over-task",
        lambda d: app(d).update(memoryReservation=300),
        "The 'memoryReservation' setting for container 'app' is greater than for the task.",
    ),
    Case(
        "memory-not-over-reservation",
        lambda d: app(d).update(memory=100, memoryReservation=100),
        "Invalid setting for container 'app'. 'memory' must be greater than 'memoryReservation'.",
    ),
    Case(
        "task-memory-unparsable",
        lambda d: d.update(memory="lots"),
        "Invalid 'memory' setting for task: lots",
    ),
    Case("health-retries-max", health("retries", 11), HC_MAX.format("retries", 10)),
    Case("health-retries-min", health("retries", 0), HC_MIN.format("retries", 1)),
    Case("health-interval-max", health("interval", 301), HC_MAX.format("interval", 300)),
    Case("health-interval-min", health("interval", 4), HC_MIN.format("interval", 5)),
    Case("health-timeout-max", health("timeout", 61), HC_MAX.format("timeout", 60)),
    Case("health-timeout-min", health("timeout", 1), HC_MIN.format("timeout", 2)),
    Case("health-start-period-max", health("startPeriod", 301), HC_MAX.format("startPeriod", 300)),
    Case("awsvpc-host-port", lambda d: app(d)["portMappings"][0].update(hostPort=80), AWSVPC_PORTS),
    Case(
        "awsvpc-links",
        lambda d: app(d).update(links=["envoy"]),
        "Links are not supported when networkMode=awsvpc.",
    ),
    Case("links-cycle", links_cycle, "Container links should not have a cycle"),
    Case(
        "depends-on-missing",
        lambda d: app(d)["dependsOn"][0].update(containerName="nope"),
        "Cannot depend on container + 'nope' because it does not exist",
    ),
    Case("depends-on-complete-essential", condition("COMPLETE"), TERMINAL_ESSENTIAL),
    Case("depends-on-success-essential", condition("SUCCESS"), TERMINAL_ESSENTIAL),
    Case(
        "depends-on-healthy-needs-check",
        lambda d: envoy(d).pop("healthCheck"),
        "A dependency container with HEALTHY condition must have health check configured",
    ),
    Case(
        "depends-on-cycle",
        lambda d: envoy(d).update(dependsOn=[{"containerName": "app", "condition": "START"}]),
        "Container dependencies should not have a cycle",
    ),
    Case(
        "depends-on-self",
        lambda d: app(d).update(dependsOn=[{"containerName": "app", "condition": "START"}]),
        "Container dependencies should not have a cycle",
    ),
    Case(
        "proxy-needs-awsvpc",
        lambda d: d.update(networkMode="bridge"),
        "APPMESH proxy configuration is only supported in networkMode=awsvpc",
    ),
    Case(
        "proxy-container-missing",
        lambda d: d["proxyConfiguration"].update(containerName="nope"),
        "Proxy container [nope] does not exist",
    ),
    Case(
        "proxy-value-null",
        lambda d: prop(d, "AppPorts").pop("value"),
        "ProxyConfiguration properties value cannot be null.",
    ),
    Case(
        "proxy-name-null",
        lambda d: prop(d, "AppPorts").pop("name"),
        "ProxyConfiguration properties name cannot be null.",
    ),
    Case(
        "proxy-property-unknown",
        lambda d: d["proxyConfiguration"]["properties"].append({"name": "Foo", "value": "1"}),
        "ProxyConfiguration property 'Foo' is not supported. Supported properties: AppPorts, "
        "EgressIgnoredIPs, EgressIgnoredPorts, IgnoredGID, IgnoredUID, ProxyEgressPort, "
        "ProxyIngressPort",
    ),
    Case(
        "proxy-ingress-port-text",
        set_prop("ProxyIngressPort", "abc"),
        "invalid port [abc] specified",
    ),
    Case(
        "proxy-egress-port-range",
        set_prop("ProxyEgressPort", "70000"),
        "invalid port [70000] specified",
    ),
    Case("proxy-app-ports-item", set_prop("AppPorts", "9080,x"), "invalid port [x] specified"),
    Case(
        "proxy-ignored-ips",
        set_prop("EgressIgnoredIPs", "169.254.170.2,not-an-ip"),
        "invalid IP or CIDR block [not-an-ip] specified in egressIgnoredIPs",
    ),
    Case(
        "proxy-ignored-uid", set_prop("IgnoredUID", "envoy"), "invalid IgnoredUID [envoy] specified"
    ),
    Case("proxy-app-ports-missing", lambda d: drop_prop(d, "AppPorts"), "App ports not found"),
    Case(
        "proxy-egress-port-missing",
        lambda d: drop_prop(d, "ProxyEgressPort"),
        "missing required parameter proxyEgressPort",
    ),
    Case(
        "proxy-ignored-ids-missing",
        lambda d: drop_prop(d, "IgnoredUID"),
        "missing required parameter ignoredGID or ignoredUID",
    ),
    Case(
        "proxy-ingress-port-missing",
        lambda d: drop_prop(d, "ProxyIngressPort"),
        "missing parameter proxyIngressPort (required if appPorts are provided)",
    ),
    Case(
        "fargate-network-mode",
        fargate("256", "512", mode="bridge"),
        "Fargate only supports network mode \u2018awsvpc\u2019.",
    ),
    Case(
        "fargate-cpu",
        fargate(None, "512"),
        "Fargate requires that 'cpu' be defined at the task level.",
    ),
    Case(
        "fargate-memory",
        fargate("256", None),
        "Fargate requires that 'memory' be defined at the task level.",
    ),
    Case(
        "fargate-combination",
        fargate("256", "4096"),
        "No Fargate configuration exists for given values.",
    ),
]
