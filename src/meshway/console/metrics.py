"""`/metrics`: the control plane's figures in Prometheus text, then every Envoy's own stats.

Figures are observed, not computed by the engines for us: `MetricsBoard` is the ADS server's
status board (`xds.status.StatusBoard`) that also counts pushes, ACK latencies and NACKs as they
are recorded; `observe_api` is the endpoint's per-call hook; task starts and stops are read from
the store's change feed at scrape time (no thread, nothing to stop). Counters start at zero with
the process, as Prometheus expects.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from meshway.console.views import TASK
from meshway.store.sql import SqlStore
from meshway.xds.cache import SHORT_NAMES
from meshway.xds.status import StatusBoard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Push → ACK is about a millisecond on loopback and up to seconds for a large config
# (reference/envoy.md §5); istio's convergence buckets start at 0.1 s, too coarse for that.
ACK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
API_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def _type(type_url: str) -> str:
    return SHORT_NAMES.get(type_url, type_url.rsplit(".", 1)[-1])


class MetricsBoard(StatusBoard):
    """The status board, counting what it records."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.pushes = Counter(
            "meshway_xds_pushes", "xDS responses sent to proxies", ["type"], registry=registry
        )
        self.acks = Histogram(
            "meshway_xds_push_to_ack_seconds",
            "Seconds from sending an xDS response to the proxy's ACK of it",
            ["type"],
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.nacks = Counter(
            "meshway_xds_nacks", "xDS responses proxies rejected", ["type"], registry=registry
        )
        self.refused_streams = Counter(
            "meshway_xds_refused_streams",
            "ADS streams refused: no or a bad proxy credential, or another node than it names",
            ["reason"],
            registry=registry,
        )

    def sent(self, stream: int, type_url: str, *, version: str, nonce: str, count: int) -> None:
        super().sent(stream, type_url, version=version, nonce=nonce, count=count)
        self.pushes.labels(_type(type_url)).inc()

    def acked(self, stream: int, type_url: str, *, version: str, latency: float | None) -> None:
        super().acked(stream, type_url, version=version, latency=latency)
        if latency is not None:
            self.acks.labels(_type(type_url)).observe(latency)

    def nacked(self, stream: int, type_url: str, *, version: str, nonce: str, message: str) -> None:
        super().nacked(stream, type_url, version=version, nonce=nonce, message=message)
        self.nacks.labels(_type(type_url)).inc()

    def refused(self, *, reason: str, node_id: str, subject: str, peer: str) -> None:
        super().refused(reason=reason, node_id=node_id, subject=subject, peer=peer)
        self.refused_streams.labels(reason).inc()


class _ProxyGauges(Collector):
    def __init__(self, board: StatusBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily(
            "meshway_xds_connected_proxies", "Proxies with an open ADS stream", labels=["protocol"]
        )
        behind = GaugeMetricFamily(
            "meshway_xds_proxies_out_of_sync", "Proxies that have not ACKed what they were sent"
        )
        counted: dict[str, int] = {"sotw": 0, "delta": 0}
        out_of_sync = 0
        for proxy in self.board.proxies():
            counted[proxy.protocol] = counted.get(proxy.protocol, 0) + 1
            out_of_sync += any(s.sent_version != s.acked_version for s in proxy.types.values())
        for protocol, n in sorted(counted.items()):
            connected.add_metric([protocol], n)
        behind.add_metric([], out_of_sync)
        yield connected
        yield behind


class TaskCounter(Collector):
    """Task starts (→ RUNNING) and stops (→ STOPPED) seen in the change feed since this process
    started, and tasks by last status now."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.revision = store.revision()
        self.status: dict[str, str] = {}
        self.starts = 0
        self.stops = 0
        with store.read() as tx:
            for record in tx.list(TASK).records:
                self.status[record.key] = str(record.body.get("lastStatus", ""))

    def refresh(self) -> None:
        while changes := self.store.changes_since(self.revision):
            self.revision = changes[-1].revision
            keys = list(dict.fromkeys(c.key for c in changes if c.kind == TASK))
            with self.store.read() as tx:
                for key in keys:
                    record = tx.get(TASK, key)
                    self._saw(key, str(record.body.get("lastStatus", "")) if record else "")

    def _saw(self, key: str, status: str) -> None:
        before = self.status.get(key, "")
        if status == before:
            return
        if status == "RUNNING":
            self.starts += 1
        elif status == "STOPPED":
            self.stops += 1
        if status:
            self.status[key] = status
        else:
            self.status.pop(key, None)

    def collect(self) -> Iterator[Metric]:
        self.refresh()
        yield _counter("meshway_ecs_task_starts", "Tasks that reached RUNNING", self.starts)
        yield _counter("meshway_ecs_task_stops", "Tasks that reached STOPPED", self.stops)
        tasks = GaugeMetricFamily("meshway_ecs_tasks", "Tasks by last status", labels=["status"])
        by_status: dict[str, int] = {}
        for status in self.status.values():
            by_status[status] = by_status.get(status, 0) + 1
        for status, n in sorted(by_status.items()):
            tasks.add_metric([status], n)
        yield tasks


def _counter(name: str, documentation: str, value: float) -> Metric:
    return CounterMetricFamily(name, documentation, value=value)


class Metrics:
    """The registry behind `/metrics` and the hooks that feed it."""

    def __init__(self, store: SqlStore) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.board = MetricsBoard(self.registry)
        self.registry.register(_ProxyGauges(self.board))
        self.registry.register(TaskCounter(store))
        self.api_seconds = Histogram(
            "meshway_api_request_seconds",
            "Seconds the endpoint spent on one AWS call",
            ["service", "operation"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.api_errors = Counter(
            "meshway_api_errors",
            "AWS calls answered with an error",
            ["service", "operation", "status"],
            registry=self.registry,
        )

    def observe_api(self, service: str, operation: str, status: int, seconds: float) -> None:
        self.api_seconds.labels(service, operation).observe(seconds)
        if status >= 400:
            self.api_errors.labels(service, operation, str(status)).inc()

    def control_plane_text(self) -> bytes:
        return generate_latest(self.registry)


def render(families: list[Metric]) -> bytes:
    """Prometheus text of families made elsewhere (the Envoys')."""

    class _Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            yield from families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed())
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "Metrics", "MetricsBoard", "render"]
