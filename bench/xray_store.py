"""X-Ray trace store ingest: segments/s through PutTraceSegments into the SQLite store.

Three measurements, each on a fresh data directory:

* `api`: a real `meshway server --no-runtime` on a free loopback port; C client processes each
  POST `/TraceSegments` with batches of B Envoy-style segment documents (about 700 bytes each, the
  daemon's batch is 50) over keep-alive HTTP, unsigned as the daemon's TCP proxy may send them.
  Every call must answer 200 with no `UnprocessedTraceSegments`, else the run fails. Afterwards
  the segment count in the database must equal what was sent.
* `store`: the same batches straight into `TraceStore.put` in this process (no HTTP), the store's
  own ceiling, by the wall clock (so it drops when other work shares the machine).
* `dispatch`: the same batches through the endpoint's own steps in this process (decode,
  shape validation, `XRayService.put_trace_segments`, encode), timed by this process's CPU time,
  so the figure is segments per CPU-second of one core even on a loaded machine.
* `records`: the same batches written as records of the generic store (`tx.put` per segment, one
  transaction per batch), the path not taken: it shows why traces have their own table.

Prints a table and writes bench/results/xray_store.json. Bounded in time; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.api.xray import envoy  # noqa: E402
from tests.conftest import ServerProcess, free_port  # noqa: E402

from meshway.core.clock import SystemClock  # noqa: E402
from meshway.model.xray.segments import parse_documents  # noqa: E402
from meshway.store.base import Record  # noqa: E402
from meshway.store.sql import SqlStore, open_store  # noqa: E402
from meshway.store.traces import TraceStore  # noqa: E402


def batches(count: int, size: int, seed_epoch: float) -> list[list[str]]:
    """`count` batches of `size` documents: whole Envoy requests, three segments each."""
    out = []
    for b in range(count):
        docs: list[dict[str, Any]] = []
        while len(docs) < size:
            status = (200, 200, 200, 500, 404)[len(docs) % 5]
            docs.extend(envoy.request(seed_epoch + b * 0.01, status).segments)
        out.append(envoy.documents(docs[:size]))
    return out


def _client(port: int, work: list[list[str]], seconds: float, queue: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    sent = calls = 0
    latencies = []
    deadline = time.monotonic() + seconds
    bodies = [json.dumps({"TraceSegmentDocuments": docs}).encode() for docs in work]
    deadline = time.monotonic() + seconds  # bodies are ready: the clients' CPU goes to sending
    while time.monotonic() < deadline:
        docs, body = work[calls % len(work)], bodies[calls % len(work)]
        started = time.monotonic()
        conn.request("POST", "/TraceSegments", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = json.loads(response.read())
        latencies.append(time.monotonic() - started)
        if response.status != 200 or answer.get("UnprocessedTraceSegments"):
            queue.put({"error": f"{response.status} {answer}"})
            return
        sent += len(docs)
        calls += 1
    distinct = min(calls, len(work)) * len(work[0])  # past the end of its work it re-sends
    queue.put({"sent": sent, "calls": calls, "distinct": distinct, "latencies": latencies})


def run_api(clients: int, batch: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        server = ServerProcess(data, free_port(), ("--no-runtime", "--log-level", "warning"))
        server.start()
        try:
            queue: Any = mp.Queue()
            # Distinct trace ids per client: each batch is fresh segments, never an upsert.
            work = [batches(400, batch, time.time() - 60) for _ in range(clients)]
            procs = [
                mp.Process(target=_client, args=(server.port, work[i], seconds, queue))
                for i in range(clients)
            ]
            started = time.monotonic()
            cpu_before = _cpu(server)
            for p in procs:
                p.start()
            results = [queue.get() for _ in procs]
            elapsed = time.monotonic() - started
            server_cpu = _cpu(server) - cpu_before
            for p in procs:
                p.join()
        finally:
            server.stop()
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise SystemExit(f"a call failed: {errors[0]}")
        stored = _stored(data / "meshway.db")
        sent = sum(r["sent"] for r in results)
        unique = sum(r["distinct"] for r in results)
        latencies = sorted(x for r in results for x in r["latencies"])
        return {
            "path": "api",
            "clients": clients,
            "batch": batch,
            "seconds": round(elapsed, 2),
            "segments": sent,
            "segments_per_s": round(sent / elapsed),
            "server_cpu_s": round(server_cpu, 2),
            "segments_per_server_cpu_s": round(sent / server_cpu) if server_cpu else None,
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
            "stored_distinct": stored,
            "expected_distinct": unique,
        }


def _cpu(server: ServerProcess) -> float:
    assert server.process is not None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM xray_segments").fetchone()[0])


def run_store(batch: int, seconds: float, generic: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(None, Path(tmp))
        traces = TraceStore(store.engine, SystemClock())
        work = batches(400, batch, time.time() - 60)
        sent = calls = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            docs = work[calls % len(work)]
            parsed = [p for text in docs for p in parse_documents(text)]
            if generic:
                _put_records(store, parsed)
            else:
                traces.put("000000000000", "us-east-1", parsed)  # type: ignore[arg-type]
            sent += len(docs)
            calls += 1
        elapsed = time.monotonic() - started
        store.close()
    return {
        "path": "records" if generic else "store",
        "batch": batch,
        "seconds": round(elapsed, 2),
        "segments": sent,
        "segments_per_s": round(sent / elapsed),
    }


def run_dispatch(batch: int, seconds: float) -> dict[str, Any]:
    from meshway.api.dispatch import invoke
    from meshway.cli.server import bindings, services
    from meshway.core.context import RequestContext

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(None, Path(tmp))
        (binding,) = [b for b in bindings(services(store)) if b.name == "xray"]
        protocol: Any = binding.protocol
        op = protocol.model.operation_model("PutTraceSegments")
        ctx = RequestContext(account="123456789012", region="us-west-2")
        work = batches(400, batch, time.time() - 60)
        bodies = [json.dumps({"TraceSegmentDocuments": docs}).encode() for docs in work]
        sent = calls = 0
        cpu, wall = time.process_time(), time.monotonic()
        while time.monotonic() - wall < seconds:
            params = protocol.decode(op, {}, [], {}, bodies[calls % len(bodies)])
            answer = invoke(binding, op, ctx, params)
            if answer.status != 200 or b'"UnprocessedTraceSegments":[]' not in answer.body:
                raise SystemExit(f"a call failed: {answer}")
            sent += batch
            calls += 1
        used = time.process_time() - cpu
        store.close()
    return {
        "path": "dispatch",
        "batch": batch,
        "seconds": round(used, 2),
        "segments": sent,
        "segments_per_s": round(sent / used),
    }


def _put_records(store: SqlStore, parsed: list[Any]) -> None:
    with store.transaction() as tx:
        for seg in parsed:
            tx.put(
                Record(
                    kind="xray-segment",
                    key=f"{seg.trace_id}/{seg.id}",
                    parent=seg.trace_id,
                    body=seg.body,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    rows = [
        run_dispatch(args.batch, args.seconds / 2),
        run_store(args.batch, args.seconds / 2, generic=False),
        run_store(args.batch, args.seconds / 2, generic=True),
        run_api(args.clients, args.batch, args.seconds),
    ]
    print(f"{'path':8} {'batch':>5} {'segments':>9} {'seg/s':>8}  notes")
    for row in rows:
        notes = ""
        if row["path"] == "dispatch":
            notes = "per CPU-second of this process (one core)"
        if row["path"] == "api":
            notes = (
                f"{row['clients']} clients, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                f"server CPU {row['server_cpu_s']} s ({row['segments_per_server_cpu_s']} seg per "
                f"CPU-s), stored {row['stored_distinct']} of {row['expected_distinct']} distinct"
            )
        print(
            f"{row['path']:8} {row['batch']:>5} {row['segments']:>9} "
            f"{row['segments_per_s']:>8}  {notes}"
        )
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_after": os.getloadavg(),  # other load on the machine makes runs noisy
        },
        "sqlite": sqlite3.sqlite_version,
        "git": _git(),
        "rows": rows,
    }
    out = ROOT / "bench" / "results" / "xray_store.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


def _git() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
