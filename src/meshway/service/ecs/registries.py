"""ECS service registries: a service's tasks registered in Cloud Map, as ECS does it.

- CreateService and UpdateService check `serviceRegistries` against the Cloud Map service and the
  task definition (one registry per service; SRV records need a port: `port`, or `containerName`
  and `containerPort` of a port mapping; bridge and host network modes always need the latter).
- Each deployment keeps the registries it was made with (`_serviceRegistries`): UpdateService
  changing them starts a new deployment, and old tasks keep their old registration until they
  stop, as ECS does.
- A task is registered while it is ACTIVATING (ECS's documented moment, task-lifecycle.md) with
  the attributes ECS sets, under its task id as the instance id, and deregistered as soon as it
  leaves RUNNING (the documentation leaves the exact moment open; reference/ecs.md §4). With
  `HealthCheckCustomConfig` on the Cloud Map service, the task's health is pushed with every
  change: HEALTHY once RUNNING with every essential health check passing (or none defined),
  UNHEALTHY before that and whenever a check fails.
- All of this runs inside the transaction that changes the task, so DiscoverInstances and DNS
  never see a task the ECS API no longer calls live.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from meshway.core import arns
from meshway.core.errors import AwsError, InvalidParameterException
from meshway.model.ecs.arns import Scope
from meshway.model.ecs.services import service_arn
from meshway.model.ecs.tasks import TaskStatus, task_address
from meshway.model.servicediscovery import records as cloudmap
from meshway.service.ecs.base import SERVICE
from meshway.service.servicediscovery import registry
from meshway.store.base import Transaction

log = logging.getLogger(__name__)

REGISTERED = "_cloudMap"  # on a task: the registry ARNs it is registered in
DEPLOYMENT_REGISTRIES = "_serviceRegistries"  # on a deployment: the registries its tasks use
_ACTIVE = frozenset({TaskStatus.ACTIVATING, TaskStatus.RUNNING})
_ONE_REGISTRY = (
    "Each service may be associated with one service registry. Multiple service registries for "
    "each service isn't supported."
)  # the ECS model's documentation, used as the message (unverified wording)


# -- CreateService / UpdateService ----------------------------------------------------------


def check_registries(
    tx: Transaction, registries: Sequence[Mapping[str, Any]], definition: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The registries as stored; InvalidParameterException for what ECS refuses."""
    if len(registries) > 1:
        raise InvalidParameterException(_ONE_REGISTRY)
    checked = []
    for entry in registries:
        arn = str(entry.get("registryArn") or "")
        service = registry.find_service_by_arn(tx, arn)
        if service is None:
            raise InvalidParameterException(  # unverified wording
                f"The service registry {arn} does not exist or is not a Cloud Map service."
            )
        _check_ports(entry, service, definition)
        checked.append(dict(entry))
    return checked


def _check_ports(
    entry: Mapping[str, Any], service: Mapping[str, Any], definition: Mapping[str, Any]
) -> None:
    name, port = entry.get("containerName"), entry.get("containerPort")
    if (name is None) != (port is None):
        raise InvalidParameterException(  # unverified wording
            "containerName and containerPort must be specified together for a service registry."
        )
    if name is not None:
        container = next(
            (c for c in definition.get("containerDefinitions") or () if c.get("name") == name),
            None,
        )
        if container is None:
            raise InvalidParameterException(  # unverified wording
                f"The container {name} does not exist in the task definition."
            )
        ports = {m.get("containerPort") for m in container.get("portMappings") or ()}
        if port not in ports:
            raise InvalidParameterException(  # unverified wording
                f"The container {name} does not expose the port {port} in its port mappings."
            )
    mode = definition.get("networkMode") or "bridge"
    if mode in ("bridge", "host") and name is None:
        raise InvalidParameterException(  # rule from the ServiceRegistry documentation
            "A service registry for a task definition with the bridge or host network mode "
            "requires a containerName and containerPort."
        )
    srv = any(r.get("Type") == "SRV" for r in _dns_records(service))
    if srv and entry.get("port") is None and name is None:
        raise InvalidParameterException(  # rule from the ServiceRegistry documentation
            "The service registry has an SRV record: specify a port, or a containerName and "
            "containerPort."
        )


def _dns_records(service: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((service.get("DnsConfig") or {}).get("DnsRecords") or ())


# -- tasks ---------------------------------------------------------------------------------


def sync_task(tx: Transaction, task: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The task after its Cloud Map registrations follow its state (call before storing it)."""
    out = dict(task)
    wanted = _wanted_registries(tx, task) if _is_active(task) else []
    wanted_arns = [str(w["registryArn"]) for w in wanted]
    for arn in task.get(REGISTERED) or ():
        if arn not in wanted_arns:
            registry.deregister_instance(tx, arn, _task_id(task))
    for entry in wanted:
        service = registry.find_service_by_arn(tx, str(entry["registryArn"]))
        if service is None:  # deleted under the service: ECS reports this as a service event
            wanted_arns.remove(str(entry["registryArn"]))
            continue
        try:
            registry.register_task_instance(
                tx,
                service_arn=str(entry["registryArn"]),
                instance_id=_task_id(task),
                attributes=task_attributes(task, entry),
                health=_health(task) if service.get("HealthCheckCustomConfig") else None,
                ecs_task_arn=str(task["taskArn"]),
                now=now,
            )
        except AwsError as error:  # Cloud Map refused (a quota, records changed under it):
            # the task runs on unregistered, as an ECS task whose registration failed does
            log.warning("task %s not registered in %s: %s", task["taskArn"], entry, error)
            wanted_arns.remove(str(entry["registryArn"]))
    if wanted_arns:
        out[REGISTERED] = wanted_arns
    else:
        out.pop(REGISTERED, None)
    return out


def _is_active(task: Mapping[str, Any]) -> bool:
    return (
        task.get("desiredStatus") == "RUNNING"
        and task.get("lastStatus") in _ACTIVE
        and task_address(task) is not None
    )


def _wanted_registries(tx: Transaction, task: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    group = str(task.get("group") or "")
    if not group.startswith("service:"):
        return []
    parsed = arns.parse(str(task["clusterArn"]))
    assert parsed is not None  # tasks are stored with their cluster's ARN
    scope = Scope(region=parsed.region, account=parsed.account)
    cluster = parsed.resource.split("/", 1)[1]
    record = tx.get(SERVICE, service_arn(scope, cluster, group[len("service:") :]))
    if record is None:
        return []
    deployment = next(
        (d for d in record.body.get("deployments") or () if d.get("id") == task.get("startedBy")),
        None,
    )
    if deployment is not None and DEPLOYMENT_REGISTRIES in deployment:
        return list(deployment[DEPLOYMENT_REGISTRIES])
    return list(record.body.get("serviceRegistries") or ())


def _health(task: Mapping[str, Any]) -> str:
    if task.get("lastStatus") != TaskStatus.RUNNING:
        return cloudmap.UNHEALTHY
    checked = any(c.get("_essential") and c.get("_healthCheck") for c in task["containers"])
    status = task.get("healthStatus")
    if status == "HEALTHY" or (status == "UNKNOWN" and not checked):
        return cloudmap.HEALTHY
    return cloudmap.UNHEALTHY


def task_attributes(task: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, str]:
    """The instance attributes ECS sets (service-discovery.md); EC2_INSTANCE_ID is left out:
    Meshway's container instance is this host, which has no EC2 instance id."""
    parsed = arns.parse(str(task["taskArn"]))
    assert parsed is not None
    definition = str(task["taskDefinitionArn"]).rsplit("/", 1)[-1]
    attributes = {
        cloudmap.IPV4: str(task_address(task)),
        "AVAILABILITY_ZONE": str(task.get("availabilityZone") or f"{parsed.region}a"),
        "REGION": parsed.region,
        "ECS_SERVICE_NAME": str(task.get("group", ""))[len("service:") :],
        "ECS_CLUSTER_NAME": str(task["clusterArn"]).rsplit("/", 1)[-1],
        "ECS_TASK_DEFINITION_FAMILY": definition.rsplit(":", 1)[0],
    }
    port = entry.get("port") if entry.get("port") is not None else entry.get("containerPort")
    if port is not None:
        attributes[cloudmap.PORT] = str(port)
    return attributes


def _task_id(task: Mapping[str, Any]) -> str:
    return str(task["taskArn"]).rsplit("/", 1)[-1]
