"""What one resolver table rebuild costs, by the kind that changed (in-process, real SQLite).

A store holds T live tasks, V virtual services and a Cloud Map namespace with S services of I/S
instances each. Times `Resolver.reload(kinds)` — what the resolver runs after a batch of changes
of those kinds — for a Cloud Map change (rereads Cloud Map only), a task change (rereads tasks
only), a virtual service change, and everything (startup). Prints a table and writes
bench/results/dns_rebuild.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from meshway.model.servicediscovery import records as cloudmap
from meshway.runtime.dns import VIRTUAL_SERVICE, Resolver
from meshway.service.ecs.base import RUNNING_PHASE, TASK
from meshway.store.base import Record
from meshway.store.sql import SqlStore, open_store

ROOT = Path(__file__).resolve().parents[1]
SCOPE = cloudmap.CloudMapScope(region="us-west-2", account="111122223333")
TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/"
MESH = "arn:aws:appmesh:us-west-2:111122223333:mesh/bench"


def fill(store: SqlStore, tasks: int, services: int, instances: int, virtual: int) -> None:
    with store.transaction() as tx:
        for n in range(tasks):
            ip = f"198.18.{n // 250}.{n % 250 + 2}"
            eni = {"name": "privateIPv4Address", "value": ip}
            body = {
                "taskArn": f"{TASK_ARN}{n:08x}{0:024x}",
                "lastStatus": "RUNNING",
                "attachments": [
                    {"type": "ElasticNetworkInterface", "status": "ATTACHED", "details": [eni]}
                ],
            }
            tx.put(Record(kind=TASK, key=body["taskArn"], name=RUNNING_PHASE, body=body))
        for n in range(virtual):
            name = f"vs{n}.bench.local"
            tx.put(
                Record(
                    kind=VIRTUAL_SERVICE, key=f"{MESH}/virtualService/{name}", name=name, body={}
                )
            )
        ns_arn = SCOPE.namespace_arn("ns-1")
        ns = {"Id": "ns-1", "Name": "cloudmap.local", "Type": "DNS_PRIVATE"}
        tx.put(Record(kind=cloudmap.NAMESPACE, key=ns_arn, parent=SCOPE.key, body=ns))
        dns = {"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]}
        for s in range(services):
            srv_arn = SCOPE.service_arn(f"srv-{s}")
            srv = {"Id": f"srv-{s}", "Name": f"svc{s}", "DnsConfig": dns}
            tx.put(Record(kind=cloudmap.SERVICE, key=srv_arn, parent=ns_arn, body=srv))
            for i in range(instances // services):
                body = {
                    "Id": f"i-{i}",
                    "Attributes": {"AWS_INSTANCE_IPV4": f"10.{s % 250}.{i // 250}.{i % 250}"},
                    "HealthStatus": "HEALTHY",
                }
                key = cloudmap.instance_key(srv_arn, f"i-{i}")
                tx.put(Record(kind=cloudmap.INSTANCE, key=key, parent=srv_arn, body=body))


def timed(resolver: Resolver, kinds: frozenset[str] | None, repeat: int) -> dict[str, float]:
    took = []
    for _ in range(repeat):
        start = time.perf_counter()
        resolver.reload(kinds)
        took.append(time.perf_counter() - start)
    return {"median_ms": statistics.median(took) * 1000, "max_ms": max(took) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--virtual-services", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(None, Path(folder))
        fill(store, args.tasks, args.services, args.instances, args.virtual_services)
        resolver = Resolver(store=store, cidr="198.18.0.0/16")
        cases = {
            "cloud map change": frozenset({cloudmap.INSTANCE}),
            "task change": frozenset({TASK}),
            "virtual service change": frozenset({VIRTUAL_SERVICE}),
            "everything (startup)": None,
        }
        results = {label: timed(resolver, kinds, args.repeat) for label, kinds in cases.items()}
        names = len(resolver.table.records)
        store.close()
    print(
        f"{args.tasks} tasks, {args.virtual_services} virtual services, "
        f"{args.instances} Cloud Map instances in {args.services} services ({names} names)"
    )
    for label, result in results.items():
        print(f"  {label:24} median {result['median_ms']:7.2f} ms  max {result['max_ms']:7.2f} ms")
    out = ROOT / "bench" / "results" / "dns_rebuild.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "names": names, "results": results}, indent=2))


if __name__ == "__main__":
    main()
