"""`meshway status` against a real server: services and tasks from the ECS API, proxies from
/meshway/proxies, as tables and as JSON; an unreachable endpoint fails with a sentence."""

from __future__ import annotations

import json
from typing import Any

from tests.api.cli_support import meshway
from tests.conftest import ServerProcess, free_port


def make_service(ecs: Any, unique: str) -> str:
    ecs.create_cluster(clusterName=unique)
    ecs.register_task_definition(
        family=unique,
        networkMode="awsvpc",
        containerDefinitions=[{"name": "app", "image": "app", "memory": 64}],
    )
    ecs.create_service(
        cluster=unique,
        serviceName="web",
        taskDefinition=unique,
        desiredCount=2,
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )
    return unique


def test_status_lists_services_and_their_tasks_as_json(
    server: ServerProcess, account: str, unique: str, ecs: Any
) -> None:
    cluster = make_service(ecs, unique)
    result = meshway(server, account, "status", "--output", "json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert set(found) == {"tasks", "services", "proxies"}
    (service,) = [s for s in found["services"] if s["cluster"] == cluster]
    assert (service["serviceName"], service["desiredCount"], service["taskDefinition"]) == (
        "web",
        2,
        f"{unique}:1",
    )
    tasks = [t for t in found["tasks"] if t["cluster"] == cluster]
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    assert sorted(t["taskId"] for t in tasks) == sorted(a.rsplit("/", 1)[-1] for a in arns)
    assert len(tasks) == 2 and {t["group"] for t in tasks} == {"service:web"}
    assert all(t["containers"][0]["name"] == "app" for t in tasks)
    assert isinstance(found["proxies"], list)


def test_status_prints_tables_of_services_tasks_and_proxies(
    server: ServerProcess, account: str, unique: str, ecs: Any
) -> None:
    cluster = make_service(ecs, unique)
    result = meshway(server, account, "status")
    assert result.returncode == 0, result.stderr
    for title in ("Services", "Tasks", "Proxies"):
        assert title in result.stdout
    web = [line for line in result.stdout.splitlines() if f"│ {cluster}" in line]
    assert any("│ web " in line and f"{unique}:1" in line for line in web)
    assert sum("service:web" in line for line in web) == 2


def test_status_against_no_server_fails_with_a_sentence(
    account: str, server: ServerProcess
) -> None:
    nowhere = ServerProcess(server.data_dir, free_port())
    result = meshway(nowhere, account, "status")
    assert result.returncode == 1
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
