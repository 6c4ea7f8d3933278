"""`meshway apply FILE` against a real server: dependency order, idempotence, the dry run's Envoy
diff naming exactly the changed route, JSON output, and AWS errors with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.api.cli_support import meshway
from tests.conftest import ServerProcess

LISTENER = [{"portMapping": {"port": 9080, "protocol": "http"}}]


def color_mesh(mesh: str, blue: int = 75, red: int = 25) -> dict[str, Any]:
    def node(name: str, **extra: Any) -> dict[str, Any]:
        spec = {"listeners": LISTENER, "serviceDiscovery": {"dns": {"hostname": f"{name}.local"}}}
        return {"name": name, "spec": {**spec, **extra}}

    targets = [{"virtualNode": "blue", "weight": blue}, {"virtualNode": "red", "weight": red}]
    return {
        "meshes": [
            {
                "name": mesh,
                "spec": {"egressFilter": {"type": "DROP_ALL"}},
                # callers first in the file: apply still creates what they name first
                "virtualServices": [
                    {
                        "name": "color.local",
                        "spec": {"provider": {"virtualRouter": {"virtualRouterName": "color"}}},
                    }
                ],
                "virtualNodes": [
                    node(
                        "front",
                        backends=[{"virtualService": {"virtualServiceName": "color.local"}}],
                    ),
                    node("blue"),
                    node("red"),
                ],
                "virtualRouters": [
                    {
                        "name": "color",
                        "spec": {"listeners": LISTENER},
                        "routes": [
                            {
                                "name": "color-route",
                                "spec": {
                                    "httpRoute": {
                                        "match": {"prefix": "/"},
                                        "action": {"weightedTargets": targets},
                                    }
                                },
                            }
                        ],
                    }
                ],
            }
        ],
        "taskDefinitions": [
            {
                "family": f"{mesh}-front",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {
                        "name": "app",
                        "image": "app",
                        "memory": 128,
                        "environment": [{"name": "COLOR", "value": "none"}],
                    }
                ],
            }
        ],
        "services": [
            {
                "cluster": f"{mesh}-cluster",
                "serviceName": "front",
                "taskDefinition": f"{mesh}-front",
                "desiredCount": 1,
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            }
        ],
    }


def write(tmp_path: Path, doc: dict[str, Any], name: str = "mesh.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc) if name.endswith(".yaml") else json.dumps(doc))
    return path


def apply_json(server: ServerProcess, account: str, path: Path, *extra: str) -> dict[str, Any]:
    result = meshway(server, account, "apply", str(path), "--output", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_apply_creates_everything_in_dependency_order_and_a_second_apply_does_nothing(
    server: ServerProcess, account: str, unique: str, tmp_path: Path, appmesh: Any, ecs: Any
) -> None:
    path = write(tmp_path, color_mesh(unique))
    first = meshway(server, account, "apply", str(path))
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if "create" in line]
    order = [line.split("│")[2].strip() for line in lines]
    assert order == [
        "mesh",
        "virtualNode",
        "virtualNode",
        "virtualNode",
        "virtualRouter",
        "route",
        "virtualService",
        "cluster",
        "taskDefinition",
        "service",
    ]
    route = appmesh.describe_route(
        meshName=unique, virtualRouterName="color", routeName="color-route"
    )["route"]
    assert route["spec"]["httpRoute"]["action"]["weightedTargets"][0]["weight"] == 75
    service = ecs.describe_services(cluster=f"{unique}-cluster", services=["front"])["services"][0]
    assert service["taskDefinition"].endswith(f"{unique}-front:1")

    second = meshway(server, account, "apply", str(path))
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    again = apply_json(server, account, path)
    assert again["changed"] == 0
    assert {a["action"] for a in again["actions"]} == {"unchanged"}
    versions = appmesh.describe_route(
        meshName=unique, virtualRouterName="color", routeName="color-route"
    )["route"]["metadata"]["version"]
    assert versions == route["metadata"]["version"]  # nothing was updated behind the table


def test_dry_run_of_a_weight_change_shows_exactly_the_changed_route_then_apply_does_it(
    server: ServerProcess, account: str, unique: str, tmp_path: Path, appmesh: Any
) -> None:
    apply_json(server, account, write(tmp_path, color_mesh(unique)))
    changed = write(tmp_path, color_mesh(unique, blue=50, red=50), "changed.json")

    plan = apply_json(server, account, changed, "--dry-run")
    assert plan["dryRun"] is True
    assert [
        (a["kind"], a["name"], a["changed"]) for a in plan["actions"] if a["action"] != "unchanged"
    ] == [
        (
            "route",
            f"{unique}/color/color-route",
            [
                "httpRoute.action.weightedTargets[0].weight",
                "httpRoute.action.weightedTargets[1].weight",
            ],
        )
    ]
    assert [p["proxy"] for p in plan["proxies"]] == [f"mesh/{unique}/virtualNode/front"]
    (change,) = plan["proxies"][0]["changes"]
    assert (change["type"], change["change"]) == ("RouteConfiguration", "changed")
    lines = change["diff"].splitlines()[2:]  # below the ---/+++ header
    removed = [x[1:].strip() for x in lines if x.startswith("-")]
    added = [x[1:].strip() for x in lines if x.startswith("+")]
    assert removed == ['"weight": 75', '"weight": 25']
    assert added == ['"weight": 50', '"weight": 50']
    route = appmesh.describe_route(
        meshName=unique, virtualRouterName="color", routeName="color-route"
    )["route"]
    assert route["spec"]["httpRoute"]["action"]["weightedTargets"][0]["weight"] == 75  # dry

    text = meshway(server, account, "apply", str(changed), "--dry-run")
    assert text.returncode == 0, text.stderr
    assert f"== mesh/{unique}/virtualNode/front: 1 resource(s) would change" in text.stdout
    assert "-- changed RouteConfiguration rds_egress_http_9080" in text.stdout

    done = apply_json(server, account, changed)
    assert done["changed"] == 1
    route = appmesh.describe_route(
        meshName=unique, virtualRouterName="color", routeName="color-route"
    )["route"]
    assert [t["weight"] for t in route["spec"]["httpRoute"]["action"]["weightedTargets"]] == [
        50,
        50,
    ]
    assert apply_json(server, account, changed)["changed"] == 0
    assert apply_json(server, account, changed, "--dry-run")["proxies"] == []


def test_a_changed_task_definition_is_registered_once_and_the_service_moved_to_it(
    server: ServerProcess, account: str, unique: str, tmp_path: Path, ecs: Any
) -> None:
    doc = color_mesh(unique)
    apply_json(server, account, write(tmp_path, doc))
    doc["taskDefinitions"][0]["containerDefinitions"][0]["environment"][0]["value"] = "blue"
    path = write(tmp_path, doc, "v2.yaml")
    done = apply_json(server, account, path)
    assert [(a["kind"], a["action"]) for a in done["actions"] if a["action"] != "unchanged"] == [
        ("taskDefinition", "update"),
        ("service", "update"),
    ]
    service = ecs.describe_services(cluster=f"{unique}-cluster", services=["front"])["services"][0]
    assert service["taskDefinition"].endswith(f"{unique}-front:2")
    assert apply_json(server, account, path)["changed"] == 0
    families = ecs.list_task_definitions(familyPrefix=f"{unique}-front")["taskDefinitionArns"]
    assert len(families) == 2


def test_an_api_error_is_shown_as_its_aws_code_and_message_with_a_non_zero_exit(
    server: ServerProcess, account: str, unique: str, tmp_path: Path
) -> None:
    doc = color_mesh(unique)
    route = doc["meshes"][0]["virtualRouters"][0]["routes"][0]
    route["spec"]["httpRoute"]["action"]["weightedTargets"][0]["virtualNode"] = "nobody"
    result = meshway(server, account, "apply", str(write(tmp_path, doc)))
    assert result.returncode == 1
    assert "Error: NotFoundException: " in result.stderr
    assert "nobody" in result.stderr


def test_a_malformed_file_is_refused_before_anything_is_called(
    server: ServerProcess, account: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("meshes: [{spec: {}}]\n")
    result = meshway(server, account, "apply", str(path))
    assert result.returncode == 1
    assert "meshes[0]: expected a mapping with a string `name`" in result.stderr


def test_cloud_map_namespaces_and_services_are_created_once_and_updated_when_they_differ(
    server: ServerProcess, account: str, unique: str, tmp_path: Path
) -> None:
    namespace = f"{unique[:40]}.local"
    doc: dict[str, Any] = {
        "cloudMap": {
            "namespaces": [
                {
                    "Name": namespace,
                    "Type": "DNS_PRIVATE",
                    "Vpc": "vpc-1",
                    "Services": [
                        {"Name": "front", "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 60}]}}
                    ],
                }
            ]
        }
    }
    first = apply_json(server, account, write(tmp_path, doc))
    assert [(a["kind"], a["action"]) for a in first["actions"]] == [
        ("cloudMapNamespace", "create"),
        ("cloudMapService", "create"),
    ]
    assert apply_json(server, account, write(tmp_path, doc))["changed"] == 0
    doc["cloudMap"]["namespaces"][0]["Services"][0]["DnsConfig"]["DnsRecords"][0]["TTL"] = 300
    changed = apply_json(server, account, write(tmp_path, doc))
    assert [(a["kind"], a["action"], a["changed"]) for a in changed["actions"]] == [
        ("cloudMapNamespace", "unchanged", []),
        ("cloudMapService", "update", ["DnsConfig.DnsRecords[0].TTL"]),
    ]
    discovery = server.client("servicediscovery", aws_access_key_id=account)
    (ns,) = [n for n in discovery.list_namespaces()["Namespaces"] if n["Name"] == namespace]
    filters = [{"Name": "NAMESPACE_ID", "Values": [ns["Id"]], "Condition": "EQ"}]
    (service,) = discovery.list_services(Filters=filters)["Services"]
    found = discovery.get_service(Id=service["Id"])["Service"]
    assert found["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 300}]
    assert apply_json(server, account, write(tmp_path, doc))["changed"] == 0


def test_the_demo_file_applies_and_a_second_apply_is_a_no_op(
    server: ServerProcess, account: str, ecs: Any
) -> None:
    from meshway import demo

    first = apply_json(server, account, demo.RESOURCES)
    assert first["changed"] == len(first["actions"])
    services = ecs.describe_services(cluster="meshway-demo", services=["front"])["services"]
    assert services[0]["taskDefinition"].endswith("demo-front:1")
    assert apply_json(server, account, demo.RESOURCES)["changed"] == 0
