"""`meshway proxy-credential NODE`: an xDS credential for an Envoy that Meshway did not start.

The xDS server refuses streams without one (issue 9, xds/credentials.py). Tokens are minted with
the key in the data directory, so this needs no running server, only the right to read that
directory, which is the same right as running the server. The node is given as the Envoy will
present it (`mesh/M/virtualNode/N` with the account and region its node metadata carries, or
the full ARN); the token is printed, or with `--bootstrap` the ADS `grpc_services` entry that
sends it, and `--output` writes either to a file only its owner can read.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from meshway.core.files import write_private

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".meshway"),
    show_default=True,
    help="The server's data directory (its xds-credential.key).",
)


def _node_key(node_id: str, account: str, region: str) -> str:
    from envoy.config.core.v3 import base_pb2

    from meshway.xds.nodes import ACCOUNT_KEY, node_key

    node = base_pb2.Node(id=node_id)
    if account:
        node.metadata.fields[ACCOUNT_KEY].string_value = account
    if region:
        node.locality.region = region
    return node_key(node)


def _bootstrap_snippet(token: str) -> str:
    from meshway.sidecar.bootstrap import ads_grpc_service

    ads = {"grpc_services": [ads_grpc_service(token)]}
    return json.dumps({"dynamic_resources": {"ads_config": ads}}, indent=2) + "\n"


@click.command("proxy-credential")
@DATA_DIR
@click.argument("node")
@click.option("--account", default="", help="aws.appmesh.account in the Envoy's node metadata.")
@click.option("--region", default="", help="locality.region in the Envoy's node (AWS_REGION).")
@click.option(
    "--label", default="cli", show_default=True, help="Names the holder in the server's logs."
)
@click.option(
    "--bootstrap",
    "as_bootstrap",
    is_flag=True,
    help="Print the bootstrap's ADS grpc_services entry (cluster xds_cluster) instead.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file (mode 0600) instead of printing.",
)
def proxy_credential(
    data_dir: Path,
    node: str,
    account: str,
    region: str,
    label: str,
    as_bootstrap: bool,
    output: Path | None,
) -> None:
    """Mint the xDS credential an Envoy presenting node NODE needs."""
    from meshway.xds.credentials import EXTERNAL, ProxyCredentials

    try:
        credentials = ProxyCredentials.load(data_dir)
    except (OSError, ValueError) as error:
        raise click.ClickException(
            f"no xDS credential key in {data_dir} (has `meshway server` run there?): {error}"
        ) from error
    token = credentials.mint(subject=EXTERNAL + label, node=_node_key(node, account, region))
    text = _bootstrap_snippet(token) if as_bootstrap else token + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_private(output, text)
