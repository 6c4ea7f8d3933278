"""`meshway proxies` and `meshway proxy-config NODE`: did my change reach the proxies?

Both read a running server's extension paths (api/proxies.py), so they work from any shell that
can reach the endpoint.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

ENDPOINT = click.option(
    "--endpoint-url",
    default="http://127.0.0.1:7700",
    show_default=True,
    help="The running server's endpoint.",
)


def _get(endpoint: str, path: str) -> Any:
    if not endpoint.startswith(("http://", "https://")):
        raise click.ClickException(f"--endpoint-url must be http(s): {endpoint}")
    try:
        url = endpoint.rstrip("/") + path
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (checked above)
            return json.loads(response.read())
    except (OSError, urllib.error.URLError) as error:
        raise click.ClickException(f"cannot reach {endpoint}: {error}") from error


def _ago(at: float | None) -> str:
    return "-" if at is None else f"{max(0.0, time.time() - at):.1f}s ago"


def _row(proxy: dict[str, Any]) -> str:
    nack = proxy["lastNack"]
    state = "IN SYNC" if proxy["inSync"] else "PENDING"
    if nack is not None and not proxy["inSync"]:
        state = "NACKED"
    detail = f"  {nack['message']}" if nack is not None else ""
    return (
        f"{proxy['nodeId']}  {proxy['protocol']}  {state}  push {_ago(proxy['lastPushAt'])}"
        f"  peer {proxy['peer']}{detail}"
    )


@click.command()
@ENDPOINT
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
def proxies(endpoint_url: str, as_json: bool) -> None:
    """Every connected Envoy: in sync or not, its last push and its last NACK."""
    found = _get(endpoint_url, "/meshway/proxies")["proxies"]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no proxies connected")
    for proxy in found:
        click.echo(_row(proxy))


@click.command("proxy-config")
@ENDPOINT
@click.argument("node")
def proxy_config(endpoint_url: str, node: str) -> None:
    """The config served to NODE (a connected node id, or a virtual node's ARN), as JSON."""
    keys = [
        p["key"] for p in _get(endpoint_url, "/meshway/proxies")["proxies"] if p["nodeId"] == node
    ]
    key = keys[0] if keys else node
    query = urllib.parse.urlencode({"key": key})
    click.echo(json.dumps(_get(endpoint_url, f"/meshway/proxies/config?{query}"), indent=2))
