"""The getting-started demo: `meshway server --demo` and `meshway demo status`.

With `--demo` (as root: the demo runs tasks), once the server answers `/health` a thread applies
the package's `demo/mesh.yaml` through the server's own App Mesh and ECS APIs, as any client
would: the mesh, its nodes, router, route and virtual service, then one ECS service per node, each
task of the seed's shape with the built-in Envoy sidecar. Applying is idempotent: what exists is
updated to the file (task definitions are registered once per family), so a restart on the same
data directory changes nothing. `meshway demo status` asks the front app, from the host, for the
colors it got and prints them next to the route's weights.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session
import click
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from meshway import demo
from meshway.model.ecs.tasks import task_address
from meshway.runtime.images import Image

log = logging.getLogger("meshway.demo")

ACCESS_KEY = "meshway-demo"  # not 12 digits: the server's default account, 000000000000
REGION = "us-west-2"
SYSTEM_DIR = Path("/var/lib/meshway/demo")
SYSTEM_PYTHON = "/usr/bin/python3"
ENVOY_IMAGE = (
    "111345817488.dkr.ecr.us-west-2.amazonaws.com/aws-appmesh-envoy:v1.9.1.0-prod"  # seed's
)
XRAY_IMAGE = "amazon/aws-xray-daemon"  # the seed's X-Ray task definition
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-demo"]}}

NOT_ROOT = (
    "--demo: not root, so this server cannot run tasks (network namespaces and iptables need "
    "root); serving the API only. Run `sudo make run` for the getting-started mesh with traffic."
)
NO_RUNTIME = "--demo: the task runtime is off (--no-runtime); serving the API only."


def resources() -> dict[str, Any]:
    return yaml.safe_load(demo.RESOURCES.read_text())  # type: ignore[no-any-return]


# --- the images: the package's programs where any uid can read them -----------------------------


def _searchable(folder: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))


def install_programs(data_dir: Path, system_dir: Path = SYSTEM_DIR) -> Path:
    """Copy the demo programs to `<data-dir>/demo` (or `system_dir` when the data dir is under a
    folder other users cannot enter), readable by the containers' users."""
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = data_dir / "demo" if _searchable(data_dir.resolve()) else system_dir
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for name in demo.PROGRAMS:
        target = folder / name
        shutil.copyfile(demo.FOLDER / name, target)
        target.chmod(0o644)
    return folder


def images(folder: Path) -> dict[str, Image]:
    """The demo's catalog entries: each image runs its program with the system Python."""
    return {
        name: Image(reference=name, entry_point=(SYSTEM_PYTHON, "-u", str(folder / program)))
        for name, program in resources()["images"].items()
    }


# --- applying the resources through the API ------------------------------------------------------


def client(endpoint: str, service: str) -> Any:
    return botocore.session.get_session().create_client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}),
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _put(create: Any, update: Any, **members: Any) -> None:
    """Create, or update to the same spec when it exists (ConflictException)."""
    try:
        create(**members)
    except ClientError as error:
        if _code(error) != "ConflictException":
            raise
        update(**members)


def apply_mesh(appmesh: Any, found: Mapping[str, Any]) -> None:
    mesh = found["mesh"]["name"]
    _put(appmesh.create_mesh, appmesh.update_mesh, meshName=mesh, spec=found["mesh"]["spec"])
    # Targets before the router's routes, the router before its service, services before the
    # nodes that call them (App Mesh itself does not require the last; it reads better).
    callers = [n for n in found["virtualNodes"] if n["spec"].get("backends")]
    for node in [n for n in found["virtualNodes"] if n not in callers]:
        _put(appmesh.create_virtual_node, appmesh.update_virtual_node, meshName=mesh,
             virtualNodeName=node["name"], spec=node["spec"])  # fmt: skip
    for router in found["virtualRouters"]:
        _put(appmesh.create_virtual_router, appmesh.update_virtual_router, meshName=mesh,
             virtualRouterName=router["name"], spec=router["spec"])  # fmt: skip
        for route in router.get("routes") or ():
            _put(appmesh.create_route, appmesh.update_route, meshName=mesh,
                 virtualRouterName=router["name"], routeName=route["name"],
                 spec=route["spec"])  # fmt: skip
    for service in found["virtualServices"]:
        _put(appmesh.create_virtual_service, appmesh.update_virtual_service, meshName=mesh,
             virtualServiceName=service["name"], spec=service["spec"])  # fmt: skip
    for node in callers:
        _put(appmesh.create_virtual_node, appmesh.update_virtual_node, meshName=mesh,
             virtualNodeName=node["name"], spec=node["spec"])  # fmt: skip


def task_definition(mesh: str, service: Mapping[str, Any]) -> dict[str, Any]:
    """The seed's task definition shape for one node's service."""
    name = service["name"]
    environment = {"APP_NAME": name, **(service.get("environment") or {})}
    return {
        "family": f"{mesh}-{name}",
        "networkMode": "awsvpc",
        "memory": "256",
        "proxyConfiguration": {
            "type": "APPMESH",
            "containerName": "envoy",
            "properties": [
                {"name": "IgnoredUID", "value": "1337"},
                {"name": "ProxyIngressPort", "value": "15000"},
                {"name": "ProxyEgressPort", "value": "15001"},
                {"name": "AppPorts", "value": "9080"},
                {"name": "EgressIgnoredIPs", "value": "169.254.170.2,169.254.169.254"},
            ],
        },
        "containerDefinitions": [
            {
                "name": "app",
                "image": service["image"],
                "essential": True,
                "portMappings": [{"containerPort": 9080, "protocol": "tcp"}],
                "environment": [{"name": k, "value": str(v)} for k, v in environment.items()],
                "dependsOn": [{"containerName": "envoy", "condition": "HEALTHY"}],
            },
            {
                "name": "envoy",
                "image": ENVOY_IMAGE,
                "essential": True,
                "user": "1337",
                "environment": [
                    {
                        "name": "APPMESH_VIRTUAL_NODE_NAME",
                        "value": f"mesh/{mesh}/virtualNode/{name}",
                    },
                    {"name": "ENABLE_ENVOY_XRAY_TRACING", "value": "1"},
                ],
                "healthCheck": {
                    "command": [
                        "CMD-SHELL",
                        "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE",
                    ],
                    "startPeriod": 10,
                    "interval": 5,
                    "timeout": 2,
                    "retries": 3,
                },
            },
            {  # the seed's X-Ray variant: Envoy's segments go to the daemon beside it
                "name": "xray-daemon",
                "image": XRAY_IMAGE,
                "user": "1337",
                "essential": True,
                "cpu": 32,
                "memoryReservation": 256,
                "portMappings": [{"containerPort": 2000, "protocol": "udp"}],
            },
        ],
    }


def _definition_arn(ecs: Any, definition: Mapping[str, Any]) -> str:
    """The family's latest revision when there is one, else a new registration."""
    try:
        found = ecs.describe_task_definition(taskDefinition=definition["family"])
    except ClientError as error:
        if _code(error) not in ("ClientException", "InvalidParameterException"):
            raise
        found = ecs.register_task_definition(**definition)
    return str(found["taskDefinition"]["taskDefinitionArn"])


def apply_services(ecs: Any, found: Mapping[str, Any]) -> None:
    cluster, mesh = found["cluster"], found["mesh"]["name"]
    ecs.create_cluster(clusterName=cluster)  # idempotent in ECS
    for service in found["services"]:
        arn = _definition_arn(ecs, task_definition(mesh, service))
        count = int(service.get("desiredCount", 1))
        existing = ecs.describe_services(cluster=cluster, services=[service["name"]])["services"]
        if any(s["status"] == "ACTIVE" for s in existing):
            ecs.update_service(cluster=cluster, service=service["name"], taskDefinition=arn,
                               desiredCount=count)  # fmt: skip
        else:
            ecs.create_service(cluster=cluster, serviceName=service["name"], taskDefinition=arn,
                               desiredCount=count, networkConfiguration=AWSVPC)  # fmt: skip


def apply(endpoint: str) -> None:
    found = resources()
    apply_mesh(client(endpoint, "appmesh"), found)
    apply_services(client(endpoint, "ecs"), found)


# --- status: what the front app got ---------------------------------------------------------------


def front_address(ecs: Any, found: Mapping[str, Any]) -> str | None:
    cluster = found["cluster"]
    try:
        arns = ecs.list_tasks(cluster=cluster, serviceName="front")["taskArns"]
    except ClientError as error:
        if _code(error) in ("ClusterNotFoundException", "ServiceNotFoundException"):
            return None  # not applied yet
        raise
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    for task in tasks:
        address = task_address(task)
        if task.get("lastStatus") == "RUNNING" and address is not None:
            return address
    return None


def weights(appmesh: Any, found: Mapping[str, Any]) -> dict[str, int]:
    """color → weight, from the route as the API has it now (it may have been updated)."""
    mesh, router = found["mesh"]["name"], found["virtualRouters"][0]
    try:
        route = appmesh.describe_route(meshName=mesh, virtualRouterName=router["name"],
                                       routeName=router["routes"][0]["name"])  # fmt: skip
    except ClientError as error:
        if _code(error) == "NotFoundException":
            return {}  # not applied yet
        raise
    colors = {s["name"]: (s.get("environment") or {}).get("COLOR") for s in found["services"]}
    targets = route["route"]["spec"]["httpRoute"]["action"]["weightedTargets"]
    return {str(colors.get(t["virtualNode"]) or t["virtualNode"]): t["weight"] for t in targets}


def status(endpoint: str) -> dict[str, Any]:
    """{"weights": {color: weight}, "front": the front app's /stats} (front: None when it does
    not run yet)."""
    found = resources()
    address = front_address(client(endpoint, "ecs"), found)
    front = None
    if address is not None:
        url = f"http://{address}:9080/stats"  # the front's AppPort: through its Envoy's ingress
        with urllib.request.urlopen(url, timeout=5) as response:
            front = json.loads(response.read())
    return {"weights": weights(client(endpoint, "appmesh"), found), "front": front}


def render(report: Mapping[str, Any]) -> str:
    front, weights_now = report["front"], report["weights"]
    if front is None:
        return "the demo's front task is not running yet (see `meshway logs` and the server log)"
    total_weight = sum(weights_now.values()) or 1
    lines = [f"front → colorteller.demo.local: {front['total']} answers, "
             f"{front['failures']} failed"]  # fmt: skip
    recent_total = sum(front["recent"].values()) or 1
    for color in sorted({*weights_now, *front["colors"]}):
        seen, recent = front["colors"].get(color, 0), front["recent"].get(color, 0)
        lines.append(
            f"  {color:<8} weight {100 * weights_now.get(color, 0) / total_weight:5.1f}%   "
            f"got {100 * seen / (front['total'] or 1):5.1f}% ({seen})   "
            f"last {recent_total}: {100 * recent / recent_total:5.1f}%"
        )
    return "\n".join(lines)


# --- the server side: apply once the server serves ------------------------------------------------


def _wait_healthy(endpoint: str, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(endpoint + "/health", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            stop.wait(0.05)
    return False


def run_in_background(endpoint: str, stop: threading.Event) -> threading.Thread:
    """Apply the demo once the server answers, then log the split once traffic has flowed."""

    def main() -> None:
        if not _wait_healthy(endpoint, stop):
            return
        try:
            apply(endpoint)
        except Exception:
            log.exception("the demo could not be applied")
            return
        log.info("demo applied: mesh 'demo', services front, colorteller-blue, colorteller-red")
        deadline = time.monotonic() + 60
        while not stop.wait(5) and time.monotonic() < deadline:
            try:
                report = status(endpoint)
            except (OSError, ClientError) as error:
                log.info("demo: waiting for the front app (%s)", error)
                continue
            if report["front"] is not None and report["front"]["total"] > 0:
                log.info("demo split (`meshway demo status` for more):\n%s", render(report))
                return

    thread = threading.Thread(target=main, name="meshway-demo", daemon=True)
    thread.start()
    return thread


def can_run() -> bool:
    return os.geteuid() == 0


# --- the command ---------------------------------------------------------------------------------


@click.group("demo")
def demo_group() -> None:
    """The getting-started mesh that `meshway server --demo` (and `make run`) brings up."""


@demo_group.command("status")
@click.option("--endpoint-url", default="http://127.0.0.1:7700", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the weights and counts as JSON.")
def demo_status(endpoint_url: str, as_json: bool) -> None:
    """The route's weights next to the colors the front app got (all and recent)."""
    try:
        report = status(endpoint_url)
    except (OSError, ClientError) as error:
        raise click.ClickException(f"cannot read the demo from {endpoint_url}: {error}") from error
    click.echo(json.dumps(report, indent=2) if as_json else render(report))
