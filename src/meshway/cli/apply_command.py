"""`meshway apply FILE [--dry-run]`: the I/O around cli/apply.py and cli/configdiff.py.

Reads what the server has (cli/apply_read.py), plans (cli/apply.py), then either prints the plan
with each affected proxy's Envoy configuration diff (`--dry-run`), or carries it out in order
through the App Mesh, ECS and Cloud Map APIs and prints what it did. A second apply of the same
file does nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml
from botocore.exceptions import ClientError
from rich.progress import Progress

from meshway.cli import apply as planning
from meshway.cli import apply_read as reading
from meshway.cli import common
from meshway.cli.apply import Action, Current, Resource, Verb
from meshway.cli.configdiff import ProxyDiff
from meshway.model.appmesh.kinds import KINDS, KindName


@dataclass(frozen=True, slots=True)
class Clients:
    appmesh: Any
    ecs: Any
    discovery: Any


SERVICE_UPDATE_MEMBERS = ("taskDefinition", "desiredCount", "networkConfiguration")


def load(path: Path) -> tuple[Resource, ...]:
    try:
        text = path.read_text()
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from error
    try:
        return planning.parse_document(doc)
    except planning.ApplyError as error:
        raise click.ClickException(f"{path}: {error}") from error


# -- carrying out ------------------------------------------------------------------------------


def _appmesh_call(appmesh: Any, action: Action) -> None:
    resource = action.resource
    kind = KindName(resource.kind)
    verb = "Create" if action.verb is Verb.CREATE else "Update"
    members: dict[str, Any] = {"meshName": resource.scope or resource.name, "spec": resource.body}
    if kind is not KindName.MESH:
        members[KINDS[kind].name_member] = resource.name
        parent = KINDS[kind].parent
        if resource.parent and parent is not None:
            members[KINDS[parent].name_member] = resource.parent
    getattr(appmesh, reading.op(verb, kind))(**members)


def _ecs_call(ecs: Any, action: Action, registered: dict[str, str]) -> None:
    resource = action.resource
    if resource.kind == "cluster":
        ecs.create_cluster(clusterName=resource.name)
    elif resource.kind == "taskDefinition":
        found = ecs.register_task_definition(**resource.body)["taskDefinition"]
        registered[resource.name] = str(found["taskDefinitionArn"])
    else:
        body = dict(resource.body)
        family = str(body["taskDefinition"]).rsplit("/", 1)[-1].split(":", 1)[0]
        body["taskDefinition"] = registered.get(family, body["taskDefinition"])
        if action.verb is Verb.CREATE:
            ecs.create_service(**body)
        else:
            update = {k: body[k] for k in SERVICE_UPDATE_MEMBERS if k in body}
            ecs.update_service(cluster=resource.scope, service=resource.name, **update)


NAMESPACE_CREATE = {
    "HTTP": "create_http_namespace",
    "DNS_PRIVATE": "create_private_dns_namespace",
    "DNS_PUBLIC": "create_public_dns_namespace",
}
OPERATION_WAIT = 30.0  # seconds; Meshway finishes namespace operations at once


def _namespace_id(discovery: Any, operation_id: str) -> str:
    deadline = time.monotonic() + OPERATION_WAIT
    while True:
        operation = discovery.get_operation(OperationId=operation_id)["Operation"]
        if operation["Status"] == "SUCCESS":
            return str(operation["Targets"]["NAMESPACE"])
        if operation["Status"] == "FAIL" or time.monotonic() > deadline:
            detail = operation.get("ErrorMessage") or f"still {operation['Status']}"
            raise click.ClickException(f"namespace operation {operation_id}: {detail}")
        time.sleep(0.2)


def _cloud_map_call(discovery: Any, action: Action, namespace_ids: dict[str, str]) -> None:
    resource = action.resource
    if resource.kind == planning.NAMESPACE:
        body = {k: v for k, v in resource.body.items() if k != "Type"}
        operation = getattr(discovery, NAMESPACE_CREATE[resource.body.get("Type", "HTTP")])
        namespace_ids[resource.name] = _namespace_id(discovery, operation(**body)["OperationId"])
    elif action.verb is Verb.CREATE:
        discovery.create_service(NamespaceId=namespace_ids[resource.scope], **resource.body)
    else:
        change: dict[str, Any] = {}
        if "Description" in resource.body:
            change["Description"] = resource.body["Description"]
        if "DnsConfig" in resource.body:
            change["DnsConfig"] = {"DnsRecords": resource.body["DnsConfig"]["DnsRecords"]}
        discovery.update_service(
            Id=namespace_ids[f"{resource.scope}/{resource.name}"], Service=change
        )


def carry_out(clients: Clients, current: Current, actions: Sequence[Action], *, show: bool) -> None:
    registered: dict[str, str] = {}
    ids = {name: str(ns["Id"]) for name, ns in current.namespaces.items()}
    ids.update({f"{ns}/{name}": str(s["Id"]) for (ns, name), s in current.discovery.items()})
    with Progress(console=common.console_err(), disable=not show, transient=True) as progress:
        task = progress.add_task("applying", total=len(actions))
        for action in actions:
            progress.update(
                task, description=f"{action.verb} {action.resource.kind} {action.resource.label}"
            )
            try:
                if action.resource.kind in planning.APPMESH_KINDS:
                    _appmesh_call(clients.appmesh, action)
                elif action.resource.kind in planning.CLOUD_MAP_KINDS:
                    _cloud_map_call(clients.discovery, action, ids)
                else:
                    _ecs_call(clients.ecs, action, registered)
            except ClientError:
                done = int(progress.tasks[0].completed)
                click.echo(
                    f"stopped at {action.verb} {action.resource.kind} "
                    f"{action.resource.label} ({done} of {len(actions)} done)",
                    err=True,
                )
                raise
            progress.advance(task)


# -- showing -------------------------------------------------------------------------------------


def render(actions: Sequence[Action], diffs: Sequence[ProxyDiff] | None, *, dry_run: bool) -> None:
    todo = planning.pending(actions)
    title = "Plan (dry run: nothing changed)" if dry_run else "Applied"
    if not todo:
        click.echo("nothing to do: every resource matches the file")
    else:
        rows = [
            (a.verb.value, a.resource.kind, a.resource.label, ", ".join(a.changed)) for a in todo
        ]
        common.console().print(common.table(title, ("ACTION", "KIND", "NAME", "CHANGED"), rows))
    if diffs is None:
        return
    if not diffs:
        click.echo("no proxy's Envoy configuration would change")
    for diff in diffs:
        click.echo(f"\n== {diff.proxy}: {len(diff.changes)} resource(s) would change")
        for change in diff.changes:
            click.echo(f"-- {change.change} {change.type} {change.name}")
            click.echo(change.diff, nl=False)


def as_json(
    actions: Sequence[Action], diffs: Sequence[ProxyDiff] | None, *, dry_run: bool
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "dryRun": dry_run,
        "actions": [a.to_json() for a in actions],
        "changed": len(planning.pending(actions)),
    }
    if diffs is not None:
        found["proxies"] = [d.to_json() for d in diffs]
    return found


@click.command("apply")
@common.ENDPOINT
@common.REGION
@common.OUTPUT
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan and each proxy's Envoy diff only.")
@common.aws_errors
def apply_cmd(
    endpoint_url: str, region: str | None, output: str, file: Path, dry_run: bool
) -> None:
    """Make the server hold what FILE (YAML or JSON) describes: App Mesh resources, ECS
    clusters, task definitions and services. Idempotent: only what differs is created or
    updated, in dependency order; nothing is deleted. With --dry-run, nothing changes and the
    Envoy configuration diff each affected proxy would receive is printed."""
    resources = load(file)
    clients = Clients(
        appmesh=common.client(endpoint_url, "appmesh", region),
        ecs=common.client(endpoint_url, "ecs", region),
        discovery=common.client(endpoint_url, "servicediscovery", region),
    )
    current = reading.read_current(clients.appmesh, clients.ecs, clients.discovery, resources)
    actions = planning.plan(resources, current)
    diffs = (
        reading.config_diffs(resources, current, reading.endpoints(clients.ecs))
        if dry_run
        else None
    )
    if not dry_run:
        carry_out(clients, current, planning.pending(actions), show=output == "table")
    if output == "json":
        common.print_json(as_json(actions, diffs, dry_run=dry_run))
    else:
        render(actions, diffs, dry_run=dry_run)
