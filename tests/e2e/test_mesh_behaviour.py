"""Mesh behaviour with a faulty backend, all real: App Mesh and ECS resources through boto3, tasks
of the seed's shape with the built-in Envoy sidecar, requests sent from inside a caller task
(app → iptables → Envoy → Envoy → app). A retry policy turns 500s into 200s and the backend sees
the retries; a route timeout answers 504 at the configured time; outlier detection ejects the
failing host; DROP_ALL blocks what ALLOW_ALL lets through; and a regex Envoy would reject is
refused by the API instead."""

from __future__ import annotations

import copy
import itertools
import json
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from meshway.runtime.names import gateway_of
from tests.conftest import ServerProcess, free_port, make_client
from tests.e2e.conftest import requires_root, seed_definition

pytestmark = [pytest.mark.e2e]

AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
HTTP_9080 = [{"portMapping": {"port": 9080, "protocol": "http"}}]
# A task CIDR of the module's own: other servers on this host (other tests, `make run`) use the
# default one on the same bridge, and addresses must not collide.
TASK_CIDR = "198.18.192.0/20"
GATEWAY = gateway_of(TASK_CIDR)  # the host on the bridge, as the tasks see it

# Sent from inside the caller task as root, so the APPMESH iptables rules send it to its Envoy.
CLIENT = """
import json, sys, time, urllib.error, urllib.request
out = []
for url in json.loads(sys.argv[1]):
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    except Exception as error:
        status, body = 0, repr(error)
    out.append({"status": status, "elapsed": time.monotonic() - start, "body": body})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def mesh_server(
    programs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server with the task runtime for the module; each test has a mesh of its own."""
    root = tmp_path_factory.mktemp("behaviour")
    python = "/usr/bin/python3"
    catalog = root / "images.json"
    images = {
        "application_image": {"entryPoint": [python, "-u", str(programs / "app.py")]},
        "faulty": {"entryPoint": [python, "-u", str(programs / "faulty.py")]},
    }
    catalog.write_text(json.dumps({"images": images}))
    args = ("--images", str(catalog), "--task-cidr", TASK_CIDR)
    server = ServerProcess(root / "data", free_port(), args).start()
    yield server
    server.stop(signal.SIGTERM, timeout=60)


_ACCOUNTS = itertools.count(123456789012)


class Mesh:
    """One mesh of the module's server, with helpers to run its nodes' tasks and call them.
    Each mesh lives in an account of its own, so a test that runs again starts afresh."""

    def __init__(self, server: ServerProcess, name: str, **mesh: Any) -> None:
        self.name = name
        account = str(next(_ACCOUNTS))
        self.appmesh = make_client(server.url, "appmesh", aws_access_key_id=account)
        self.ecs = make_client(server.url, "ecs", aws_access_key_id=account)
        self.appmesh.create_mesh(meshName=name, **mesh)
        self.tasks: list[str] = []

    def node(self, name: str, *, backends: tuple[str, ...] = (), **listener: Any) -> None:
        spec: dict[str, Any] = {
            "listeners": [{**HTTP_9080[0], **listener}],
            "serviceDiscovery": {"dns": {"hostname": f"{name}.{self.name}.local"}},
        }
        if backends:
            spec["backends"] = [{"virtualService": {"virtualServiceName": b}} for b in backends]
        self.appmesh.create_virtual_node(meshName=self.name, virtualNodeName=name, spec=spec)

    def router(self, name: str, routes: dict[str, dict[str, Any]]) -> str:
        self.appmesh.create_virtual_router(
            meshName=self.name, virtualRouterName=name, spec={"listeners": HTTP_9080}
        )
        for route, spec in routes.items():
            self.appmesh.create_route(
                meshName=self.name, virtualRouterName=name, routeName=route, spec=spec
            )
        return self.service(name, {"virtualRouter": {"virtualRouterName": name}})

    def service(self, name: str, provider: dict[str, Any]) -> str:
        service = f"{name}.{self.name}.local"
        self.appmesh.create_virtual_service(
            meshName=self.name, virtualServiceName=service, spec={"provider": provider}
        )
        return service

    def run(self, node: str, image: str = "faulty", family: str = "", **env: str) -> str:
        definition = copy.deepcopy(seed_definition())
        definition["family"] = f"{self.name}-{family or node}"
        app, envoy = definition["containerDefinitions"]
        app["image"] = image
        app["environment"] = [
            {"name": k, "value": v} for k, v in {"APP_NAME": family or node, **env}.items()
        ]
        envoy["environment"] = [
            {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": f"mesh/{self.name}/virtualNode/{node}"}
        ]
        arn = self.ecs.register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]
        task = self.ecs.run_task(taskDefinition=arn, networkConfiguration=AWSVPC)["tasks"][0]
        self.tasks.append(task["taskArn"])
        return str(task["taskArn"])

    def wait_running(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self.ecs.describe_tasks(tasks=self.tasks)["tasks"]
            if all(t["lastStatus"] == "RUNNING" for t in tasks):
                return
            stopped = [t for t in tasks if t["lastStatus"] == "STOPPED"]
            assert not stopped, [
                (t.get("stoppedReason"), [c.get("reason") for c in t["containers"]])
                for t in stopped
            ]
            time.sleep(0.2)
        raise TimeoutError(self.tasks)

    def address(self, task_arn: str) -> str:
        [task] = self.ecs.describe_tasks(tasks=[task_arn])["tasks"]
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        return str(details["privateIPv4Address"])

    def counts(self, task_arn: str) -> dict[str, Any]:
        url = f"http://{self.address(task_arn)}:9081/counts"  # not an AppPort: no Envoy on the way
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        for arn in self.tasks:
            self.ecs.stop_task(task=arn)


def netns(task_arn: str) -> str:
    return "mw-" + task_arn.rsplit("/", 1)[-1][:12]


def call(task_arn: str, urls: list[str]) -> list[dict[str, Any]]:
    """GET each URL in turn from inside the task; status 0 = the connection failed."""
    out = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            netns(task_arn),
            "/usr/bin/python3",
            "-c",
            CLIENT,
            json.dumps(urls),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def until_ok(task_arn: str, url: str, timeout: float = 20) -> None:
    """Wait until the caller's Envoy routes `url` (its config and the endpoints arrived)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if call(task_arn, [url])[0]["status"] == 200:
            return
        time.sleep(0.2)
    raise TimeoutError(url)


def admin(task_arn: str, path: str) -> str:
    """GET from the task's Envoy admin port (127.0.0.1:9901 inside the task) as uid 1337, whom
    the APPMESH rules let through."""
    out = subprocess.run(
        ["ip", "netns", "exec", netns(task_arn), "setpriv", "--reuid", "1337", "--regid", "1337",
         "--clear-groups", "curl", "-s", f"http://127.0.0.1:9901{path}"],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    return out.stdout


def envoy_stats(task_arn: str, prefix: str) -> dict[str, int]:
    """The task Envoy's counters whose names start with `prefix`."""
    found = {}
    for line in admin(task_arn, f"/stats?filter=^{prefix}").splitlines():
        name, _, value = line.partition(": ")
        if value.strip().isdigit():
            found[name] = int(value)
    return found


def http_route(action: dict[str, Any], prefix: str = "/", **extra: Any) -> dict[str, Any]:
    return {"httpRoute": {"match": {"prefix": prefix}, "action": action, **extra}}


def to(node: str) -> dict[str, Any]:
    return {"weightedTargets": [{"virtualNode": node, "weight": 1}]}


@requires_root
def test_a_retry_policy_turns_server_errors_into_200s_and_the_backend_sees_the_retries(
    mesh_server: ServerProcess,
) -> None:
    mesh = Mesh(mesh_server, "retry")
    retry = {
        "maxRetries": 2,
        "perRetryTimeout": {"value": 5, "unit": "s"},
        "httpRetryEvents": ["server-error"],
    }
    mesh.node("flaky")
    service = mesh.router(
        "flaky",
        {
            "retried": http_route(to("flaky"), "/retried", retryPolicy=retry),
            "plain": http_route(to("flaky"), "/plain"),
        },
    )
    mesh.node("front", backends=(service,))
    backend = mesh.run("flaky", FAIL_FIRST="2", FAIL_STATUS="500")
    front = mesh.run("front", image="application_image")
    mesh.wait_running()
    try:
        until_ok(front, f"http://{service}:9080/retried/warm-up")
        retries = "cluster.cds_egress_retry_flaky_http_9080.upstream_rq_retry"
        before = envoy_stats(front, retries + "$").get(retries, 0)
        retried = call(front, [f"http://{service}:9080/retried/{i}" for i in range(5)])
        counted = envoy_stats(front, retries + "$")[retries] - before
        plain = call(front, [f"http://{service}:9080/plain/0"])
        counts = mesh.counts(backend)["paths"]
    finally:
        mesh.stop()
    # Each path fails twice, then succeeds: two retries make every request a 200 ...
    assert [r["status"] for r in retried] == [200] * 5, retried
    assert [json.loads(r["body"])["seen"] for r in retried] == [3] * 5
    # ... and the backend saw each request three times (the first try and two retries).
    assert all(counts[f"/retried/{i}"] == 3 for i in range(5)), counts
    # Without the policy the first 500 reaches the caller, and the backend saw it once.
    assert plain[0]["status"] == 500 and counts["/plain/0"] == 1, (plain, counts)
    # The caller's Envoy counted the retries too: 2 for each of the 5 requests.
    assert counted == 10, counted


@requires_root
def test_a_route_timeout_answers_504_at_the_configured_time(mesh_server: ServerProcess) -> None:
    mesh = Mesh(mesh_server, "timeout")
    mesh.node("slow")
    timeout = {"perRequest": {"value": 1, "unit": "s"}}
    service = mesh.router("slow", {"slow": http_route(to("slow"), timeout=timeout)})
    mesh.node("front", backends=(service,))
    mesh.run("slow")
    front = mesh.run("front", image="application_image")
    mesh.wait_running()
    try:
        until_ok(front, f"http://{service}:9080/warm-up")
        late = call(front, [f"http://{service}:9080/late/{i}?delay=3" for i in range(3)])
        in_time = call(front, [f"http://{service}:9080/in-time?delay=0.5"])
    finally:
        mesh.stop()
    assert [r["status"] for r in late] == [504] * 3, late
    assert all(r["body"] == "upstream request timeout" for r in late), late
    # At the configured second, not at the backend's 3 s (jitter: loaded CI, python start-up).
    assert all(0.95 <= r["elapsed"] < 1.5 for r in late), [r["elapsed"] for r in late]
    assert in_time[0]["status"] == 200, in_time
    print("timeout: 504 after", ", ".join(f"{r['elapsed'] * 1000:.0f} ms" for r in late))


@requires_root
def test_outlier_detection_ejects_the_failing_host_and_traffic_goes_to_the_healthy_one(
    mesh_server: ServerProcess,
) -> None:
    mesh = Mesh(mesh_server, "outlier")
    outlier = {
        "maxServerErrors": 3,
        "interval": {"value": 1, "unit": "s"},
        "baseEjectionDuration": {"value": 60, "unit": "s"},
        "maxEjectionPercent": 50,
    }
    mesh.node("pool", outlierDetection=outlier)
    service = mesh.service("pool", {"virtualNode": {"virtualNodeName": "pool"}})
    mesh.node("front", backends=(service,))
    good = mesh.run("pool", family="pool-good")
    bad = mesh.run("pool", family="pool-bad", FAIL_ALWAYS="1", FAIL_STATUS="500")
    front = mesh.run("front", image="application_image")
    mesh.wait_running()
    cluster = "cds_egress_outlier_pool_http_9080"
    try:
        # No warm-up request: wait until the caller's Envoy has both hosts in its EDS cluster
        # (before that the cluster is a DNS one, a single logical host nothing can eject).
        hosts = {f"{mesh.address(arn)}:9080" for arn in (good, bad)}
        deadline = time.monotonic() + 20
        while envoy_hosts(front, cluster) != hosts:
            assert time.monotonic() < deadline, envoy_hosts(front, cluster)
            time.sleep(0.1)
        # Then until the caller's configuration has settled: an EDS or CDS update during the run
        # re-adds the hosts and resets the failing host's error count (Envoy's documented
        # outlier behaviour), which is not what this test is about.
        settled(front, cluster, quiet=1.5, deadline=deadline)
        results = call(front, [f"http://{service}:9080/o/{i}" for i in range(60)])
        stats = envoy_stats(front, f"cluster.{cluster}.")
        stats.update(envoy_stats(front, "cluster_manager."))
        seen = {"good": mesh.counts(good), "bad": mesh.counts(bad)}
    finally:
        mesh.stop()
    statuses = [r["status"] for r in results]
    failed = [i for i, status in enumerate(statuses) if status != 200]
    # Three consecutive server errors eject the bad host: the 500s that reach the caller are the
    # bad host's answers before its ejection (three, unless an EDS update re-added the host and
    # reset its count), and every request after the last of them is served by the healthy host.
    odd = [(i, results[i]["status"], results[i]["body"][:80]) for i in failed]
    assert len(failed) >= 3 and all(statuses[i] == 500 for i in failed), odd
    assert seen["bad"]["paths"] == {f"/o/{i}": 1 for i in failed}, (seen, failed)
    after = results[failed[-1] + 1 :]
    # What could reset the host's count, should the run not settle: cluster or membership churn.
    churn = {k: v for k, v in stats.items() if "membership_change" in k or "modified" in k}
    assert len(after) >= 30, (failed, churn)
    assert {json.loads(r["body"])["app"] for r in after} == {"pool-good"}
    prefix = f"cluster.{cluster}.outlier_detection."
    assert stats[prefix + "ejections_enforced_consecutive_5xx"] >= 1, stats
    assert stats[prefix + "ejections_active"] == 1, stats
    ejected_after = sum(r["elapsed"] for r in results[: failed[-1] + 1])
    print(f"outlier: ejected after requests {failed}, {ejected_after * 1000:.0f} ms into the run")


def settled(task_arn: str, cluster: str, *, quiet: float, deadline: float) -> None:
    """Wait until the Envoy's cluster updates stop for `quiet` seconds."""

    def churn() -> dict[str, int]:
        stats = envoy_stats(task_arn, f"cluster.{cluster}.membership_change")
        stats.update(envoy_stats(task_arn, "cluster_manager.cds.update_success"))
        stats.update(envoy_stats(task_arn, "cluster_manager.cluster_modified"))
        return stats

    last, since = churn(), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the caller's configuration never settled"
        time.sleep(0.1)
        now = churn()
        if now != last:
            last, since = now, time.monotonic()


def envoy_hosts(task_arn: str, cluster: str) -> set[str]:
    """The hosts of one cluster in the caller Envoy's admin /clusters."""
    out = admin(task_arn, "/clusters")
    return {
        line.split("::")[1] for line in out.splitlines() if line.startswith(f"{cluster}::")
        and line.count("::") >= 3 and line.split("::")[1][0].isdigit()
    }  # fmt: skip


class _Hits(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        body = b"outside"
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def egress(mesh: Mesh, kind: str) -> None:
    mesh.appmesh.update_mesh(meshName=mesh.name, spec={"egressFilter": {"type": kind}})


def until_status(task_arn: str, url: str, wanted: int, timeout: float = 10) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if call(task_arn, [url])[0]["status"] == wanted:
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(f"{url} never answered {wanted}")


@requires_root
def test_drop_all_blocks_an_unknown_destination_that_allow_all_lets_through(
    mesh_server: ServerProcess,
) -> None:
    outside = ThreadingHTTPServer((GATEWAY, 0), _Hits)  # on the host, reachable from tasks
    outside.hits = 0  # type: ignore[attr-defined]
    threading.Thread(target=outside.serve_forever, daemon=True).start()
    url = f"http://{GATEWAY}:{outside.server_address[1]}/"
    mesh = Mesh(mesh_server, "egress", spec={"egressFilter": {"type": "ALLOW_ALL"}})
    mesh.node("probe")
    probe = mesh.run("probe", image="application_image")
    mesh.wait_running()
    try:
        until_ok(probe, url)
        allowed = call(probe, [url] * 3)
        egress(mesh, "DROP_ALL")
        to_drop = until_status(probe, url, 0)
        hits = outside.hits  # type: ignore[attr-defined]
        dropped = call(probe, [url] * 3)
        hits_while_dropped = outside.hits - hits  # type: ignore[attr-defined]
        egress(mesh, "ALLOW_ALL")
        to_allow = until_status(probe, url, 200)
    finally:
        mesh.stop()
        outside.shutdown()
        outside.server_close()
    assert [r["status"] for r in allowed] == [200] * 3 and allowed[0]["body"] == "outside"
    assert [r["status"] for r in dropped] == [0] * 3, dropped
    assert hits_while_dropped == 0
    print(f"egress: DROP_ALL blocking {to_drop * 1000:.0f} ms after update-mesh returned, "
          f"ALLOW_ALL passing {to_allow * 1000:.0f} ms after")  # fmt: skip


@pytest.mark.parametrize(
    "match",
    [
        {"prefix": "/", "headers": [{"name": "x-user", "match": {"regex": "(?=admin).*"}}]},
        {"path": {"regex": "/items/(\\d+)/\\1"}},
        {"prefix": "/", "headers": [{"name": "x-user", "match": {"regex": "(unclosed"}}]},
    ],
    ids=["lookahead", "backreference", "unbalanced"],
)
def test_a_regex_envoy_would_reject_is_refused_by_the_api(
    appmesh: Any, unique: str, match: dict[str, Any]
) -> None:
    mesh = f"{unique}-re"
    appmesh.create_mesh(meshName=mesh)
    node = {"listeners": HTTP_9080, "serviceDiscovery": {"dns": {"hostname": "vn.local"}}}
    appmesh.create_virtual_node(meshName=mesh, virtualNodeName="vn", spec=node)
    appmesh.create_virtual_router(
        meshName=mesh, virtualRouterName="vr", spec={"listeners": HTTP_9080}
    )
    spec = {"httpRoute": {"match": match, "action": to("vn")}}
    with pytest.raises(ClientError) as raised:
        appmesh.create_route(meshName=mesh, virtualRouterName="vr", routeName="r", spec=spec)
    error = raised.value.response
    assert error["Error"]["Code"] == "BadRequestException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "RE2" in error["Error"]["Message"]
    assert appmesh.list_routes(meshName=mesh, virtualRouterName="vr")["routes"] == []
