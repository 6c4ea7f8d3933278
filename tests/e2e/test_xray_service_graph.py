"""The X-Ray service graph of a traced mesh, all real: tasks of the seed's X-Ray shape (app + the
built-in Envoy with ENABLE_ENVOY_XRAY_TRACING=1 and XRAY_SAMPLING_RATE=1 + the built-in
`amazon/aws-xray-daemon`) for `front` and `backend`, front → backend through both Envoys, and the
host as the client: it sends into front's task address, as a load balancer or a user outside the
mesh would, so front's ingress segment is each trace's root and X-Ray draws a `client` node in
front of it. Backend answers by path (/fault 500, /error 404, /throttle 429, else 200).

- GetServiceGraph over the run shows client → front → backend with every node's and edge's
  counts equal to what was sent; BatchGetTraces gives whole traces that chain by parent_id.
- The aws CLI's `get-service-graph` and `get-trace-summaries` answer what boto3 gets.
- An app instrumented with aws-xray-sdk (Flask + the SDK's middleware, requests patched) in front's
  task joins the Envoys' traces, and its sampler's polls through the daemon's TCP port are answered.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from meshway.model.xray.traces import walk
from tests.conftest import REGION, ServerProcess, aws_cli, free_port, make_client
from tests.e2e.conftest import requires_root, seed_definition

pytestmark = [pytest.mark.e2e, requires_root]

# A task CIDR of the module's own: other servers on this host share the bridge.
TASK_CIDR = "198.18.160.0/20"
MESH = "xray"
PROXY = "AWS::AppMesh::Proxy"
FRONT, BACKEND = f"{MESH}/front", f"{MESH}/backend"  # Envoy's segment names: <mesh>/<node>
HTTP_9080 = [{"portMapping": {"port": 9080, "protocol": "http"}}]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
# The run: 200 requests, some answered 5xx and 4xx by backend (xray_hops.py answers by path).
PLAN = {"/ok": 140, "/fault": 25, "/error": 20, "/throttle": 15}
STATUS = {"/ok": 200, "/fault": 500, "/error": 404, "/throttle": 429}
# What the SDK app needs on the system interpreter's path (their dependencies come along).
SDK_DISTRIBUTIONS = ("aws-xray-sdk", "flask", "requests")
_ACCOUNTS = itertools.count(210987654321)


@pytest.fixture(scope="module")
def xray_server(
    programs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("xray-graph")
    python = "/usr/bin/python3"
    images = {
        name: {"entryPoint": [python, "-u", str(programs / f"{name}.py")]}
        for name in ("xray_hops", "xray_sdk_app")
    }
    catalog = root / "images.json"
    catalog.write_text(json.dumps({"images": images}))
    args = ("--images", str(catalog), "--task-cidr", TASK_CIDR)
    server = ServerProcess(root / "data", free_port(), args).start()
    yield server
    server.stop(signal.SIGTERM, timeout=60)


def _distributions(names: tuple[str, ...]) -> list[metadata.Distribution]:
    """The installed distributions `names` need, their requirements included (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = found[key] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python (the import would say)
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0])
    return list(found.values())


@pytest.fixture(scope="module")
def sdk_path() -> Iterator[Path]:
    """A world-readable copy of aws-xray-sdk, Flask, requests and their dependencies from this
    venv, for the task's /usr/bin/python3 through PYTHONPATH: the system interpreter lacks them,
    and a checkout under /root is not readable to a task's users."""
    folder = Path(tempfile.mkdtemp(prefix="meshway-xray-sdk-", dir="/tmp"))
    folder.chmod(0o755)
    for dist in _distributions(SDK_DISTRIBUTIONS):
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # scripts outside site-packages; bytecode of another interpreter
            target = folder / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(dist.locate_file(file))), target)
            target.chmod(0o644)
    for directory in folder.rglob("*"):
        if directory.is_dir():
            directory.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class TracedMesh:
    """A mesh of its own account on the module's server: backend and front nodes, their tasks of
    the seed's X-Ray shape, and the host calling into front."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.account = str(next(_ACCOUNTS))
        self.appmesh = make_client(server.url, "appmesh", aws_access_key_id=self.account)
        self.ecs = make_client(server.url, "ecs", aws_access_key_id=self.account)
        self.xray = make_client(server.url, "xray", aws_access_key_id=self.account)
        self.tasks: dict[str, str] = {}
        self._addresses: dict[str, str] = {}
        self.appmesh.create_mesh(meshName=MESH)
        self.backend_service = f"backend.{MESH}.local"
        self._node("backend")
        self.appmesh.create_virtual_service(
            meshName=MESH,
            virtualServiceName=self.backend_service,
            spec={"provider": {"virtualNode": {"virtualNodeName": "backend"}}},
        )
        self._node("front", backends=[self.backend_service])

    def _node(self, name: str, backends: list[str] | None = None) -> None:
        spec: dict[str, Any] = {
            "listeners": HTTP_9080,
            "serviceDiscovery": {"dns": {"hostname": f"{name}.{MESH}.local"}},
        }
        if backends:
            spec["backends"] = [{"virtualService": {"virtualServiceName": b}} for b in backends]
        self.appmesh.create_virtual_node(meshName=MESH, virtualNodeName=name, spec=spec)

    def run(self, node: str, image: str, **env: str) -> None:
        definition = copy.deepcopy(seed_definition("appmesh-task-definition-xray.json"))
        definition["family"] = f"xray-graph-{node}"
        app, envoy, daemon = definition["containerDefinitions"]
        assert daemon["image"] == "amazon/aws-xray-daemon" and daemon["user"] == "1337"
        app["image"] = image
        app["environment"] = [{"name": k, "value": v} for k, v in {"APP_NAME": node, **env}.items()]
        envoy["environment"] = [
            {"name": "APPMESH_VIRTUAL_NODE_NAME", "value": f"mesh/{MESH}/virtualNode/{node}"},
            {"name": "ENABLE_ENVOY_XRAY_TRACING", "value": "1"},
            {"name": "XRAY_SAMPLING_RATE", "value": "1"},
        ]
        daemon["command"] = ["--stats-interval", "1"]  # counters in its log, for failures
        registered = self.ecs.register_task_definition(**definition)["taskDefinition"]
        task = self.ecs.run_task(
            taskDefinition=registered["taskDefinitionArn"], networkConfiguration=AWSVPC
        )["tasks"][0]
        self.tasks[node] = task["taskArn"]

    def wait_running(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self.ecs.describe_tasks(tasks=list(self.tasks.values()))["tasks"]
            if all(t["lastStatus"] == "RUNNING" for t in tasks):
                return
            stopped = [t for t in tasks if t["lastStatus"] == "STOPPED"]
            assert not stopped, [(t.get("stoppedReason"), t["containers"]) for t in stopped]
            time.sleep(0.2)
        raise TimeoutError(self.tasks)

    def address(self, node: str) -> str:
        if node not in self._addresses:
            [task] = self.ecs.describe_tasks(tasks=[self.tasks[node]])["tasks"]
            details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
            self._addresses[node] = str(details["privateIPv4Address"])
        return self._addresses[node]

    def get(self, node: str, path: str, port: int = 9080) -> int:
        """GET from the host; on 9080 (an AppPort) the task's Envoy takes it first."""
        try:
            with urllib.request.urlopen(f"http://{self.address(node)}:{port}{path}", timeout=10):
                return 200
        except urllib.error.HTTPError as error:
            return error.code

    def until_answered(self, path: str = "/ok", timeout: float = 30) -> None:
        """Until front → backend works end to end (Envoys configured, apps listening)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.get("front", path) == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"front{path}: {self.daemon_logs()}")

    def daemon_log(self, node: str) -> list[str]:
        """The lines of the node's task's daemon log (container output, as `docker logs`)."""
        logs = self.server.data_dir / "runtime" / "tasks" / self.tasks[node].rsplit("/", 1)[-1]
        return [
            line for p in sorted((logs / "logs").glob("xray-daemon.*"))
            for line in p.read_text().splitlines()
        ]  # fmt: skip

    def daemon_counters(self, node: str) -> dict[str, int]:
        """The daemon's last counters line (it logs them every --stats-interval seconds)."""
        lines = [line for line in self.daemon_log(node) if "counters: " in line]
        if not lines:
            return {}
        pairs = (item.split("=") for item in lines[-1].split("counters: ")[1].split())
        return {k: int(v) for k, v in pairs}

    def daemon_logs(self) -> str:
        """Each daemon's last lines other than counters (errors, warnings), then its last line."""
        out = []
        for node in self.tasks:
            lines = self.daemon_log(node)
            kept = [line for line in lines if "[Info] counters" not in line][-10:] + lines[-1:]
            out += [f"{node}'s daemon:", *kept]
        return "\n".join(out)

    def flushed(self, least: dict[str, int], timeout: float = 20) -> None:
        """Until each daemon has received at least `least[node]` segments and has sent all it
        received (counters logged after its last batch went out, 1 s idle)."""

        def done() -> bool:
            for node, count in least.items():
                c = self.daemon_counters(node)
                if not c or c["received"] < count:
                    return False
                if c["sent"] + c["unprocessed"] + c["dropped"] + c["rejected"] < c["received"]:
                    return False
            return True

        until(done, timeout, "the daemons' flush")
        for node in least:
            counters = self.daemon_counters(node)
            assert counters["sent"] == counters["received"], self.daemon_logs()

    def stop(self) -> None:
        for arn in self.tasks.values():
            self.ecs.stop_task(task=arn)


def service_graph(xray: Any, start: float, end: float) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    for page in xray.get_paginator("get_service_graph").paginate(StartTime=start, EndTime=end):
        services += page["Services"]
    return services


def trace_ids(xray: Any, start: float, end: float) -> list[str]:
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=start, EndTime=end, TimeRangeType="Event"
    )
    return [summary["Id"] for page in pages for summary in page["TraceSummaries"]]


def whole_traces(xray: Any, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Trace id → its segment documents, by BatchGetTraces (5 a call, as in AWS)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 5):
        answer = xray.batch_get_traces(TraceIds=ids[start : start + 5])
        assert answer["UnprocessedTraceIds"] == []
        for trace in answer["Traces"]:
            found[trace["Id"]] = [json.loads(s["Document"]) for s in trace["Segments"]]
    return found


def by_key(services: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(s["Name"], s.get("Type")): s for s in services}


def counts(statuses: Counter[int]) -> dict[str, Any]:
    """SummaryStatistics as X-Ray words them, from the statuses the client got: 4xx are errors
    (429 also a throttle), 5xx faults."""
    throttles = statuses[429]
    other_errors = sum(n for status, n in statuses.items() if 400 <= status < 500) - throttles
    faults = sum(n for status, n in statuses.items() if status >= 500)
    return {
        "OkCount": sum(n for status, n in statuses.items() if status < 400),
        "ErrorStatistics": {
            "ThrottleCount": throttles,
            "OtherCount": other_errors,
            "TotalCount": throttles + other_errors,
        },
        "FaultStatistics": {"OtherCount": faults, "TotalCount": faults},
        "TotalCount": sum(statuses.values()),
    }


def without_time(stats: dict[str, Any]) -> dict[str, Any]:
    assert stats["TotalResponseTime"] > 0
    return {k: v for k, v in stats.items() if k != "TotalResponseTime"}


FLAGS = {200: set(), 404: {"error"}, 429: {"error", "throttle"}, 500: {"fault"}}


def flags(segment: dict[str, Any]) -> set[str]:
    return {f for f in ("error", "throttle", "fault") if segment.get(f) is True}


def chained(segments: list[dict[str, Any]]) -> bool:
    """Every non-root segment's parent is a segment or subsegment of the same trace, and there
    is exactly one root."""
    ids = {str(doc["id"]) for segment in segments for doc in walk(segment)}
    roots = [s for s in segments if "parent_id" not in s]
    return len(roots) == 1 and all(s["parent_id"] in ids for s in segments if "parent_id" in s)


def whole_second_after(gap: float) -> int:
    """The first whole second at least `gap` s from now, once it has come. Windows are whole
    seconds because the aws CLI's botocore sends timestamps as whole seconds: the CLI and boto3
    then ask about the same window, and it holds the run and nothing else."""
    at = math.ceil(time.time() + gap)
    time.sleep(max(0.0, at - time.time()))
    return at


class Run:
    """The traffic of the service-graph tests, sent once for the module."""

    def __init__(self, mesh: TracedMesh, statuses: list[int], start: int, end: int) -> None:
        self.mesh, self.statuses, self.start, self.end = mesh, statuses, start, end


@pytest.fixture(scope="module")
def run(xray_server: ServerProcess) -> Iterator[Run]:
    mesh = TracedMesh(xray_server)
    mesh.run("backend", "xray_hops")
    mesh.run("front", "xray_hops", UPSTREAM=f"http://{mesh.backend_service}:9080")
    try:
        mesh.wait_running()
        mesh.until_answered()
        paths = [path for path, n in PLAN.items() for _ in range(n)]
        random.Random(6).shuffle(paths)
        start = whole_second_after(0.5)  # the warm-up's segments end before the window opens
        statuses = [mesh.get("front", path) for path in paths]
        end = whole_second_after(0.5)
        assert statuses == [STATUS[p] for p in paths]  # what was sent is what the client got
        # front's Envoy sent two segments a request (ingress, egress), backend's one; each
        # daemon sends a batch after 1 s idle.
        mesh.flushed({"front": 2 * len(paths), "backend": len(paths)})
        yield Run(mesh, statuses, start, end)
    finally:
        mesh.stop()


def test_the_service_graph_shows_client_front_backend_with_the_counts_that_were_sent(
    run: Run,
) -> None:
    services = service_graph(run.mesh.xray, run.start, run.end)
    found = by_key(services)
    assert set(found) == {(FRONT, "client"), (FRONT, PROXY), (BACKEND, PROXY)}, services
    client, front, backend = found[FRONT, "client"], found[FRONT, PROXY], found[BACKEND, PROXY]
    sent = counts(Counter(run.statuses))
    assert sent["OkCount"] == 140 and sent["FaultStatistics"]["TotalCount"] == 25
    assert sent["ErrorStatistics"] == {"ThrottleCount": 15, "OtherCount": 20, "TotalCount": 35}

    # client → front → backend, and nothing else
    assert [e["ReferenceId"] for e in client["Edges"]] == [front["ReferenceId"]]
    assert [e["ReferenceId"] for e in front["Edges"]] == [backend["ReferenceId"]]
    assert backend["Edges"] == []
    assert (client["State"], front["State"], backend["State"]) == ("unknown", "active", "active")
    assert front["Root"] is True and backend["Root"] is False
    assert "SummaryStatistics" not in client  # not instrumented: no segments of its own

    # Each count is what was sent: front answers what backend answered.
    for stats in (
        front["SummaryStatistics"],
        backend["SummaryStatistics"],
        client["Edges"][0]["SummaryStatistics"],
        front["Edges"][0]["SummaryStatistics"],
    ):
        assert without_time(stats) == sent, services
    for node in (front, backend):
        assert sum(bucket["Count"] for bucket in node["ResponseTimeHistogram"]) == 200
        assert run.start <= node["StartTime"].timestamp() <= node["EndTime"].timestamp() <= run.end


def test_batch_get_traces_returns_each_request_as_one_whole_trace_chained_by_parent_id(
    run: Run,
) -> None:
    ids = trace_ids(run.mesh.xray, run.start, run.end)
    assert len(ids) == len(set(ids)) == 200
    traces = whole_traces(run.mesh.xray, ids)
    assert set(traces) == set(ids)
    roots: Counter[int] = Counter()
    for trace_id, segments in traces.items():
        assert chained(segments), segments
        assert {s["trace_id"] for s in segments} == {trace_id}
        # front's ingress (the root) → front's egress → backend's ingress
        [ingress] = [s for s in segments if "parent_id" not in s]
        [egress] = [s for s in segments if s.get("parent_id") == ingress["id"]]
        [callee] = [s for s in segments if s.get("parent_id") == egress["id"]]
        assert len(segments) == 3
        assert (ingress["name"], egress["name"], callee["name"]) == (FRONT, FRONT, BACKEND)
        assert {s["origin"] for s in segments} == {PROXY}
        status = ingress["http"]["response"]["status"]
        assert egress["http"]["response"]["status"] == callee["http"]["response"]["status"]
        assert callee["http"]["response"]["status"] == status
        for (
            segment
        ) in segments:  # the segment documents' flags: 4xx error, 429 also throttle, 5xx fault
            assert flags(segment) == FLAGS[status], segment
        roots[status] += 1
    assert roots == Counter(run.statuses)


def aws(run: Run, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": run.mesh.account,
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [*aws_cli(), "--endpoint-url", run.mesh.server.url, "--output", "json", "xray", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def plain(value: Any) -> Any:
    """boto3's answer as the CLI prints it: timestamps as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_the_aws_cli_gets_the_same_service_graph_and_trace_summaries_as_boto3(run: Run) -> None:
    window = ("--start-time", str(run.start), "--end-time", str(run.end))
    graph = aws(run, "get-service-graph", *window)
    assert plain(graph["Services"]) == plain(service_graph(run.mesh.xray, run.start, run.end))
    assert {(s["Name"], s.get("Type")) for s in graph["Services"]} == {
        (FRONT, "client"),
        (FRONT, PROXY),
        (BACKEND, PROXY),
    }

    summaries = aws(run, "get-trace-summaries", *window, "--time-range-type", "Event")
    pages = run.mesh.xray.get_paginator("get_trace_summaries").paginate(
        StartTime=run.start, EndTime=run.end, TimeRangeType="Event"
    )
    expected = [s for page in pages for s in page["TraceSummaries"]]
    assert len(summaries["TraceSummaries"]) == 200  # two pages of 100, joined by the CLI
    assert plain(summaries["TraceSummaries"]) == plain(expected)
    faults = aws(
        run, "get-trace-summaries", *window, "--time-range-type", "Event",
        "--filter-expression", 'fault AND http.url CONTAINS "/fault"',
    )  # fmt: skip
    assert len(faults["TraceSummaries"]) == PLAN["/fault"]


# -- an aws-xray-sdk app in front's task ------------------------------------------------------


def sampling_state(mesh: TracedMesh) -> dict[str, Any]:
    url = f"http://{mesh.address('front')}:9081/sampling"  # not an AppPort: no Envoy on the way
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {found!r}")
        time.sleep(0.3)


def test_an_app_instrumented_with_the_xray_sdk_joins_the_envoys_traces_and_polls_sampling(
    xray_server: ServerProcess, sdk_path: Path
) -> None:
    mesh = TracedMesh(xray_server)
    mesh.run("backend", "xray_hops")
    upstream = f"http://{mesh.backend_service}:9080"
    mesh.run("front", "xray_sdk_app", UPSTREAM=upstream, PYTHONPATH=str(sdk_path))
    try:
        mesh.wait_running()
        health = until(lambda: _health(mesh), 20, "the SDK app on 9081")
        assert health == 200
        # The first decision of its own started the sampler's pollers: rules come through the
        # daemon's TCP proxy.
        state = until(lambda: sampling_state(mesh)["fetched_at"], 10, "GetSamplingRules")
        assert "Default" in sampling_state(mesh)["rules"], state
        # Decisions under the Default rule now, reported by the first SamplingTargets (10 s
        # after the pollers started): these 3, and the first /health's if the rules beat it.
        assert [_health(mesh) for _ in range(3)] == [200] * 3
        default = sampling_state(mesh)["rules"]["Default"]
        assert default["quota"] is None  # not reported yet: `requests` is all there is
        decided = default["requests"]
        assert decided in (3, 4), default

        mesh.until_answered()
        start = whole_second_after(0.5)
        paths = ["/ok"] * 8 + ["/fault", "/error"]
        statuses = [mesh.get("front", path) for path in paths]
        end = whole_second_after(0.5)
        assert statuses == [STATUS[p] for p in paths]

        # front: Envoy's ingress and egress segments and the app's; backend: its Envoy's
        mesh.flushed({"front": 3 * len(paths), "backend": len(paths)})

        def joined() -> dict[str, list[dict[str, Any]]] | None:
            traces = whole_traces(mesh.xray, trace_ids(mesh.xray, start, end))
            complete = {t: s for t, s in traces.items() if len(s) == 4}
            return complete if len(complete) == len(paths) else None

        try:
            traces = until(joined, 20, "four segments a trace")
        except AssertionError:
            around = whole_traces(mesh.xray, trace_ids(mesh.xray, start - 30, end + 30))
            raise AssertionError(("traces around the run", around, mesh.daemon_logs())) from None
        assert len(traces) == len(paths)
        for trace_id, segments in traces.items():
            assert chained(segments), segments
            assert {s["trace_id"] for s in segments} == {trace_id}
            [ingress] = [s for s in segments if "parent_id" not in s]
            [app] = [s for s in segments if s.get("parent_id") == ingress["id"]]
            calls = {sub["id"]: sub for sub in list(walk(app))[1:]}
            [egress] = [s for s in segments if s.get("parent_id") in calls]
            [callee] = [s for s in segments if s.get("parent_id") == egress["id"]]
            assert (ingress["name"], app["name"], egress["name"]) == (FRONT, "front", FRONT)
            assert callee["name"] == BACKEND
            assert app["aws"]["xray"]["sdk"] == "X-Ray for Python"
            call = calls[egress["parent_id"]]
            assert call["namespace"] == "remote"
            assert call["http"]["request"]["url"].startswith(upstream)
            status = callee["http"]["response"]["status"]
            assert app["http"]["response"]["status"] == call["http"]["response"]["status"]
            assert call["http"]["response"]["status"] == status
            assert app.get("fault", False) is (status >= 500)
            assert app.get("error", False) is (400 <= status < 500)

        # SamplingTargets (every 10 s once a rule matched) went through the daemon too: the app
        # holds the target the service gave, and the service counted the app's decisions.
        until(
            lambda: sampling_state(mesh)["rules"]["Default"]["quota"] is not None,
            15,
            "SamplingTargets",
        )
        [summary] = until(
            lambda: mesh.xray.get_sampling_statistic_summaries()["SamplingStatisticSummaries"],
            5,
            "sampling statistics",
        )
        assert summary["RuleName"] == "Default"
        assert summary["RequestCount"] == decided
    finally:
        mesh.stop()


def _health(mesh: TracedMesh) -> int | None:
    """GET /health on the app's own port, straight from the host (no trace header on it)."""
    try:
        return mesh.get("front", "/health", port=9081)
    except OSError:
        return None
