"""Mesh scenarios for the translation tests, as the store holds them (records with wire-form data).

`Mesh` collects resources the way the API would create them (specs pass through the service's
`with_defaults`), and `view()` turns them into the `MeshView` the translation reads. `SCENARIOS`
names one mesh per feature; each is a golden file under tests/golden/xds/.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshway.model.appmesh.kinds import KINDS, KindName
from meshway.model.appmesh.rules import with_defaults
from meshway.xds.discovery import CloudMap, cloud_map_endpoints
from meshway.xds.view import Endpoint, MeshView, ProxyId

Spec = dict[str, Any]


def seconds(value: int) -> Spec:
    return {"unit": "s", "value": value}


def millis(value: int) -> Spec:
    return {"unit": "ms", "value": value}


@dataclass
class Mesh:
    name: str = "demo"
    spec: Spec = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)

    def add(self, kind: KindName, name: str, spec: Spec, parent: str = "") -> Mesh:
        data: dict[str, Any] = {"meshName": self.name, "spec": with_defaults(kind, spec)}
        data[KINDS[kind].name_member] = name
        parent_kind = KINDS[kind].parent
        if parent_kind is not None and parent_kind is not KindName.MESH:
            data[KINDS[parent_kind].name_member] = parent
        self.records.append({"kind": KINDS[kind].store_kind, "body": {"data": data, "tags": []}})
        return self

    def node(self, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.VIRTUAL_NODE, name, spec)

    def router(self, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.VIRTUAL_ROUTER, name, spec)

    def route(self, router: str, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.ROUTE, name, spec, parent=router)

    def service(self, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.VIRTUAL_SERVICE, name, spec)

    def gateway(self, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.VIRTUAL_GATEWAY, name, spec)

    def gateway_route(self, gateway: str, name: str, spec: Spec) -> Mesh:
        return self.add(KindName.GATEWAY_ROUTE, name, spec, parent=gateway)

    def view_records(self) -> list[dict[str, Any]]:
        mesh_record = {
            "kind": "appmesh.mesh",
            "body": {
                "data": {"meshName": self.name, "spec": with_defaults(KindName.MESH, self.spec)}
            },
        }
        return [mesh_record, *self.records]

    def view(self) -> MeshView:
        return MeshView.from_records(self.name, self.view_records(), self.endpoints)


def http_listener(port: int = 9080, protocol: str = "http", **extra: Any) -> Spec:
    return {"portMapping": {"port": port, "protocol": protocol}, **extra}


def dns(hostname: str) -> Spec:
    return {"dns": {"hostname": hostname}}


def backend(name: str, **extra: Any) -> Spec:
    return {"virtualService": {"virtualServiceName": name, **extra}}


def weighted(*targets: tuple[str, int]) -> Spec:
    return {"weightedTargets": [{"virtualNode": node, "weight": w} for node, w in targets]}


def seed(white: int = 50, black: int = 50) -> Mesh:
    """The seed's getting-started mesh: `front` calls colorteller.demo.local:9080, a router
    splitting between two colorteller nodes, each with live endpoints."""
    mesh = Mesh()
    mesh.node(
        "front",
        {
            "listeners": [http_listener()],
            "serviceDiscovery": dns("front.demo.local"),
            "backends": [backend("colorteller.demo.local")],
        },
    )
    for color in ("white", "black"):
        mesh.node(
            f"colorteller-{color}",
            {
                "listeners": [http_listener()],
                "serviceDiscovery": dns(f"colorteller-{color}.demo.local"),
            },
        )
    mesh.router("colorteller-router", {"listeners": [http_listener()]})
    mesh.route(
        "colorteller-router",
        "colorteller-route",
        {
            "httpRoute": {
                "match": {"prefix": "/"},
                "action": weighted(("colorteller-white", white), ("colorteller-black", black)),
            }
        },
    )
    mesh.service(
        "colorteller.demo.local",
        {"provider": {"virtualRouter": {"virtualRouterName": "colorteller-router"}}},
    )
    mesh.endpoints = {
        "colorteller-white": [
            Endpoint(address="198.18.0.11", zone="local-1a"),
            Endpoint(address="198.18.0.12", zone="local-1a", healthy=False),
        ],
        "colorteller-black": [Endpoint(address="198.18.0.21", zone="local-1b")],
    }
    return mesh


FRONT = ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="front")
WHITE = ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="colorteller-white")


def routing() -> Mesh:
    """Route matches, priorities, retries and timeouts on a router with two listeners."""
    mesh = seed()
    mesh.records = [
        r for r in mesh.records if r["kind"] not in ("appmesh.route", "appmesh.virtualRouter")
    ]
    mesh.router(
        "colorteller-router",
        {"listeners": [http_listener(9080), http_listener(9090, "http2")]},
    )
    mesh.route(
        "colorteller-router",
        "beta-header",
        {
            "priority": 1,
            "httpRoute": {
                "match": {
                    "prefix": "/",
                    "port": 9080,
                    "headers": [
                        {"name": "x-beta", "match": {"exact": "yes"}},
                        {"name": "x-debug", "invert": True},
                    ],
                    "method": "GET",
                    "queryParameters": [{"name": "color", "match": {"exact": "black"}}],
                },
                "action": weighted(("colorteller-black", 1)),
                "retryPolicy": {
                    "maxRetries": 3,
                    "perRetryTimeout": millis(500),
                    "httpRetryEvents": ["server-error", "stream-error"],
                    "tcpRetryEvents": ["connection-error"],
                },
                "timeout": {"perRequest": seconds(30), "idle": seconds(60)},
            },
        },
    )
    mesh.route(
        "colorteller-router",
        "exact-path",
        {
            "priority": 2,
            "httpRoute": {
                "match": {"path": {"exact": "/health"}, "port": 9080},
                "action": weighted(("colorteller-white", 1)),
                "timeout": {"perRequest": seconds(0)},
            },
        },
    )
    mesh.route(
        "colorteller-router",
        "regex-path",
        {
            "httpRoute": {
                "match": {"path": {"regex": "/items/[0-9]+"}, "port": 9080},
                "action": weighted(("colorteller-black", 1)),
            }
        },
    )
    mesh.route(
        "colorteller-router",
        "default",
        {
            "httpRoute": {
                "match": {"prefix": "/", "port": 9080},
                "action": weighted(("colorteller-white", 3), ("colorteller-black", 1)),
                "retryPolicy": {
                    "maxRetries": 1,
                    "perRetryTimeout": seconds(2),
                    "httpRetryEvents": ["gateway-error"],
                },
            }
        },
    )
    mesh.route(
        "colorteller-router",
        "range-header",
        {
            "httpRoute": {
                "match": {
                    "prefix": "/api",
                    "port": 9080,
                    "headers": [
                        {"name": "x-version", "match": {"range": {"start": 1, "end": 5}}},
                        {"name": "x-tenant", "match": {"prefix": "acme-"}},
                        {"name": "x-region", "match": {"suffix": "-1"}},
                        {"name": "x-trace", "match": {"regex": "[a-f0-9]+"}},
                    ],
                },
                "action": weighted(("colorteller-black", 1)),
            }
        },
    )
    mesh.route(
        "colorteller-router",
        "h2-scheme",
        {
            "httpRoute": None,
            "http2Route": {
                "match": {"prefix": "/", "port": 9090, "scheme": "https"},
                "action": weighted(("colorteller-white", 0), ("colorteller-black", 0)),
            },
        },
    )
    return mesh


CERT, KEY, CA = "/certs/white.crt", "/certs/white.key", "/certs/ca.crt"
CLIENT_CERT, CLIENT_KEY = "/certs/front.crt", "/certs/front.key"


def certificate_files(directory: Path) -> dict[str, str]:
    """Real files for the scenarios' certificate paths, so Envoy can load them."""
    mapping: dict[str, str] = {}
    for cert, key in ((CERT, KEY), (CLIENT_CERT, CLIENT_KEY), (CA, "/certs/ca.key")):
        cert_file, key_file = directory / Path(cert).name, directory / Path(key).name
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=colorteller-white.demo.local",
                "-keyout",
                str(key_file),
                "-out",
                str(cert_file),
            ],
            check=True,
            capture_output=True,
        )
        mapping[cert], mapping[key] = str(cert_file), str(key_file)
    return mapping


def _white_tls(mode: str) -> Mesh:
    mesh = seed()
    tls = {
        "mode": mode,
        "certificate": {"file": {"certificateChain": CERT, "privateKey": KEY}},
        "validation": {
            "trust": {"file": {"certificateChain": CA}},
            "subjectAlternativeNames": {
                "match": {"exact": ["front.demo.local", "spiffe://demo/front"]}
            },
        },
    }
    _replace_node(
        mesh,
        "colorteller-white",
        {
            "listeners": [http_listener(tls=tls)],
            "serviceDiscovery": dns("colorteller-white.demo.local"),
        },
    )
    return mesh


def tls_strict() -> Mesh:
    """mTLS on the white node's listener: STRICT; the front has no client policy, so it still
    originates TLS to white, unvalidated (row 4.4.8)."""
    return _white_tls("STRICT")


def tls_permissive() -> Mesh:
    return _white_tls("PERMISSIVE")


def client_tls() -> Mesh:
    """backendDefaults TLS with file trust (no SANs: the target's DNS name is checked) and a
    per-backend policy with SANs, a client certificate and SDS trust, limited to port 9080."""
    mesh = _white_tls("STRICT")
    mesh.service("audit.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "audit"}}})
    mesh.node(
        "audit", {"listeners": [http_listener(8443)], "serviceDiscovery": dns("audit.demo.local")}
    )
    _replace_node(
        mesh,
        "front",
        {
            "listeners": [http_listener()],
            "serviceDiscovery": dns("front.demo.local"),
            "backendDefaults": {
                "clientPolicy": {
                    "tls": {"validation": {"trust": {"file": {"certificateChain": CA}}}}
                }
            },
            "backends": [
                backend(
                    "colorteller.demo.local",
                    clientPolicy={
                        "tls": {
                            "ports": [9080],
                            "certificate": {
                                "file": {"certificateChain": CLIENT_CERT, "privateKey": CLIENT_KEY}
                            },
                            "validation": {
                                "trust": {"sds": {"secretName": "spiffe://demo"}},
                                "subjectAlternativeNames": {
                                    "match": {"exact": ["spiffe://demo/colorteller"]}
                                },
                            },
                        }
                    },
                ),
                backend("audit.demo.local"),
            ],
        },
    )
    return mesh


def _replace_node(mesh: Mesh, name: str, spec: Spec) -> None:
    mesh.records = [r for r in mesh.records if r["body"]["data"].get("virtualNodeName") != name]
    mesh.node(name, spec)


def policies() -> Mesh:
    """Listener policies: health check and outlier detection (land on callers' clusters),
    connection pool and timeouts (land on the node itself), JSON access logs."""
    mesh = seed()
    _replace_node(
        mesh,
        "colorteller-white",
        {
            "listeners": [
                http_listener(
                    healthCheck={
                        "protocol": "http",
                        "path": "/ping",
                        "port": 9080,
                        "timeoutMillis": 2000,
                        "intervalMillis": 5000,
                        "healthyThreshold": 2,
                        "unhealthyThreshold": 3,
                    },
                    outlierDetection={
                        "maxServerErrors": 5,
                        "interval": seconds(10),
                        "baseEjectionDuration": seconds(30),
                        "maxEjectionPercent": 50,
                    },
                    connectionPool={"http": {"maxConnections": 10, "maxPendingRequests": 5}},
                    timeout={"http": {"perRequest": seconds(45), "idle": seconds(600)}},
                ),
                http_listener(
                    9090,
                    "grpc",
                    healthCheck={
                        "protocol": "grpc",
                        "timeoutMillis": 1500,
                        "intervalMillis": 3000,
                        "healthyThreshold": 2,
                        "unhealthyThreshold": 2,
                    },
                    connectionPool={"grpc": {"maxRequests": 100}},
                ),
            ],
            "serviceDiscovery": dns("colorteller-white.demo.local"),
            "logging": {
                "accessLog": {
                    "file": {
                        "path": "/dev/stdout",
                        "format": {
                            "json": [
                                {"key": "status", "value": "%RESPONSE_CODE%"},
                                {"key": "path", "value": "%REQ(:PATH)%"},
                            ]
                        },
                    }
                }
            },
        },
    )
    return mesh


def allow_all() -> Mesh:
    """Mesh egress filter ALLOW_ALL: passthrough chains and cluster; text access logs."""
    mesh = seed()
    mesh.spec = {"egressFilter": {"type": "ALLOW_ALL"}}
    _replace_node(
        mesh,
        "front",
        {
            "listeners": [http_listener()],
            "serviceDiscovery": dns("front.demo.local"),
            "backends": [backend("colorteller.demo.local")],
            "logging": {
                "accessLog": {
                    "file": {
                        "path": "/dev/stdout",
                        "format": {"text": "%PROTOCOL% %RESPONSE_CODE%\n"},
                    }
                }
            },
        },
    )
    return mesh


def providers() -> Mesh:
    """Node-provided services (gRPC and TCP), a router TCP route with weights, DNS clusters
    (no endpoints from the runtime: LOGICAL_DNS, and STRICT_DNS for ENDPOINTS), Cloud Map."""
    mesh = Mesh(spec={"serviceDiscovery": {"ipPreference": "IPv4_ONLY"}})
    mesh.node(
        "client",
        {
            "listeners": [http_listener(8080)],
            "serviceDiscovery": dns("client.demo.local"),
            "backends": [
                backend(name)
                for name in (
                    "grpc.demo.local",
                    "db.demo.local",
                    "cache.demo.local",
                    "map.demo.local",
                )
            ],
        },
    )
    mesh.node(
        "grpc-server",
        {
            "listeners": [
                http_listener(50051, "grpc", timeout={"grpc": {"perRequest": seconds(60)}})
            ],
            "serviceDiscovery": {
                "dns": {"hostname": "grpc.demo.local", "responseType": "ENDPOINTS"}
            },
        },
    )
    mesh.node(
        "db",
        {
            "listeners": [
                http_listener(
                    5432,
                    "tcp",
                    timeout={"tcp": {"idle": seconds(3600)}},
                    connectionPool={"tcp": {"maxConnections": 50}},
                )
            ],
            "serviceDiscovery": dns("db.demo.local"),
        },
    )
    for name in ("cache-a", "cache-b"):
        mesh.node(
            name,
            {
                "listeners": [http_listener(6379, "tcp")],
                "serviceDiscovery": dns(f"{name}.demo.local"),
            },
        )
    mesh.router("cache-router", {"listeners": [http_listener(6379, "tcp")]})
    mesh.route(
        "cache-router",
        "split",
        {
            "tcpRoute": {
                "action": weighted(("cache-a", 80), ("cache-b", 20)),
                "timeout": {"idle": seconds(120)},
            }
        },
    )
    mesh.node(
        "map",
        {
            "listeners": [http_listener(8000, "http2")],
            "serviceDiscovery": {
                "awsCloudMap": {"namespaceName": "demo.local", "serviceName": "map"}
            },
        },
    )
    mesh.service(
        "grpc.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "grpc-server"}}}
    )
    mesh.service("db.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "db"}}})
    mesh.service(
        "cache.demo.local", {"provider": {"virtualRouter": {"virtualRouterName": "cache-router"}}}
    )
    mesh.service("map.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "map"}}})
    mesh.endpoints = {
        "map": [Endpoint(address="198.18.0.40"), Endpoint(address="198.18.0.41", port=9999)]
    }
    return mesh


CLIENT = ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="client")
DB = ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="db")


def lonely() -> Mesh:
    """A node with no listeners and no backends: only the egress listener and AWS passthrough."""
    return Mesh().node("lonely", {})


def gateway() -> Mesh:
    """A virtual gateway with an HTTP and a gRPC listener and gateway routes for each rewrite
    and hostname rule; backendDefaults client TLS; JSON-free text access logs."""
    mesh = seed()
    mesh.service("front.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "front"}}})
    mesh.node(
        "grpc-server",
        {
            "listeners": [http_listener(50051, "grpc")],
            "serviceDiscovery": dns("grpc.demo.local"),
        },
    )
    mesh.service(
        "grpc.demo.local", {"provider": {"virtualNode": {"virtualNodeName": "grpc-server"}}}
    )
    mesh.gateway(
        "ingress-gw",
        {
            "listeners": [
                http_listener(8088, connectionPool={"http": {"maxConnections": 100}}),
                http_listener(8089, "grpc"),
            ],
            "backendDefaults": {
                "clientPolicy": {
                    "tls": {"validation": {"trust": {"file": {"certificateChain": CA}}}}
                }
            },
            "logging": {"accessLog": {"file": {"path": "/dev/stdout"}}},
        },
    )

    def http(
        name: str,
        match: Spec,
        service: str = "colorteller.demo.local",
        priority: int | None = None,
        rewrite: Spec | None = None,
    ) -> None:
        action: Spec = {"target": {"virtualService": {"virtualServiceName": service}}}
        if rewrite:
            action["rewrite"] = rewrite
        spec: Spec = {"httpRoute": {"match": {**match, "port": 8088}, "action": action}}
        if priority is not None:
            spec["priority"] = priority
        mesh.gateway_route("ingress-gw", name, spec)

    http("color", {"prefix": "/color"})
    http(
        "keep", {"prefix": "/keep/"}, priority=1, rewrite={"prefix": {"defaultPrefix": "DISABLED"}}
    )
    http("maroon", {"prefix": "/maroon/"}, rewrite={"prefix": {"value": "/red/"}})
    http("exact", {"path": {"exact": "/rewrite/path/blue"}}, rewrite={"path": {"exact": "/blue"}})
    http(
        "front-host",
        {"hostname": {"exact": "front.example.com"}},
        service="front.demo.local",
        rewrite={"hostname": {"defaultTargetHostname": "DISABLED"}},
    )
    http(
        "org-suffix",
        {
            "prefix": "/",
            "hostname": {"suffix": ".example.org"},
            "headers": [{"name": "x-canary", "match": {"exact": "1"}}],
            "method": "POST",
        },
    )
    mesh.gateway_route(
        "ingress-gw",
        "grpc",
        {
            "grpcRoute": {
                "match": {"serviceName": "pkg.Colors", "port": 8089},
                "action": {"target": {"virtualService": {"virtualServiceName": "grpc.demo.local"}}},
            }
        },
    )
    return mesh


GATEWAY = ProxyId(mesh="demo", kind=KindName.VIRTUAL_GATEWAY, name="ingress-gw")


def cloud_map_instance(ip: str, family: str, health: str = "HEALTHY") -> Spec:
    return {
        "Id": f"task-{ip}",
        "ServiceId": "srv-colors",
        "HealthStatus": health,
        "Attributes": {
            "AWS_INSTANCE_IPV4": ip,
            "AWS_INSTANCE_PORT": "8080",  # not used: App Mesh takes the listener port
            "ECS_TASK_DEFINITION_FAMILY": family,
        },
    }


def cloud_map() -> Mesh:
    """Issue 8: two task families in one Cloud Map service `colors.apps.local`; `blue` selects
    its family with an attribute filter (one blue instance UNHEALTHY), `everyone` names the
    service by its DNS name with responseType ENDPOINTS, `unknown` by a name Cloud Map does not
    answer (a DNS cluster)."""
    mesh = Mesh()
    family = {"key": "ECS_TASK_DEFINITION_FAMILY", "value": "blue"}
    selector = {"namespaceName": "apps.local", "serviceName": "colors", "attributes": [family]}
    blue = {"awsCloudMap": selector}
    mesh.node("blue", {"listeners": [http_listener()], "serviceDiscovery": blue})
    everyone = {"dns": {"hostname": "colors.apps.local", "responseType": "ENDPOINTS"}}
    mesh.node("everyone", {"listeners": [http_listener(9090)], "serviceDiscovery": everyone})
    unknown = dns("db.example.com")
    mesh.node("unknown", {"listeners": [http_listener()], "serviceDiscovery": unknown})
    for name in ("blue", "everyone", "unknown"):
        mesh.service(f"{name}.apps.local", {"provider": {"virtualNode": {"virtualNodeName": name}}})
    mesh.node(
        "front",
        {
            "listeners": [http_listener()],
            "serviceDiscovery": dns("front.apps.local"),
            "backends": [backend(f"{name}.apps.local") for name in ("blue", "everyone", "unknown")],
        },
    )
    directory = CloudMap.of(
        [{"Id": "ns-apps", "Name": "apps.local", "Type": "DNS_PRIVATE"}],
        [{"Id": "srv-colors", "Name": "colors", "NamespaceId": "ns-apps"}],
        [
            cloud_map_instance("198.18.0.11", "blue"),
            cloud_map_instance("198.18.0.12", "blue", "UNHEALTHY"),
            cloud_map_instance("198.18.0.21", "green"),
        ],
    )
    view = mesh.view()
    for name, spec in view.virtual_nodes.items():
        found = cloud_map_endpoints(spec, view.mesh_spec, directory)
        if found is not None:
            mesh.endpoints[name] = list(found)
    return mesh


SCENARIOS: dict[str, tuple[Callable[[], Mesh], ProxyId]] = {
    "seed-front": (seed, FRONT),
    "seed-colorteller-white": (seed, WHITE),
    "seed-front-100-0": (lambda: seed(white=100, black=0), FRONT),
    "routing": (routing, FRONT),
    "tls-strict": (tls_strict, WHITE),
    "tls-permissive": (tls_permissive, WHITE),
    "tls-strict-caller": (tls_strict, FRONT),
    "client-tls": (client_tls, FRONT),
    "policies-caller": (policies, FRONT),
    "policies-target": (policies, WHITE),
    "allow-all": (allow_all, FRONT),
    "providers-client": (providers, CLIENT),
    "providers-tcp-target": (providers, DB),
    "gateway": (gateway, GATEWAY),
    "no-listeners": (lonely, ProxyId(mesh="demo", kind=KindName.VIRTUAL_NODE, name="lonely")),
    "cloud-map": (cloud_map, FRONT),
}
