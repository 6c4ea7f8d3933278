"""The `meshway` command."""

from __future__ import annotations

from pathlib import Path

import click

from meshway import __version__


@click.group()
@click.version_option(__version__, prog_name="meshway")
def cli() -> None:
    """Meshway: App Mesh and ECS on your own machine, with the real Envoy."""


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".meshway"),
    show_default=True,
    help="Where the SQLite store and task state live.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=7700, show_default=True)
@click.option("--store", "store_url", default=None, help="SQLAlchemy URL (default: SQLite).")
@click.option(
    "--images",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Image catalog (YAML or JSON).",
)
@click.option(
    "--require-auth",
    type=click.Path(path_type=Path, exists=True),
    default=None,
    help="Verify SigV4 signatures against the keys in this file.",
)
@click.option("--log-level", default="info", show_default=True)
def server(
    data_dir: Path,
    host: str,
    port: int,
    store_url: str | None,
    images: Path | None,
    require_auth: Path | None,
    log_level: str,
) -> None:
    """Run everything in the foreground: AWS endpoint, store, control plane, runtime."""
    from meshway.cli.server import ServerOptions, run

    run(
        ServerOptions(
            data_dir=data_dir,
            host=host,
            port=port,
            store_url=store_url,
            images=images,
            require_auth=require_auth,
            log_level=log_level,
        )
    )


def main() -> None:
    cli()
