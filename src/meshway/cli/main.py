"""The `meshway` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from meshway import __version__

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".meshway"),
    show_default=True,
    help="Where the SQLite store and task state live.",
)


@click.group()
@click.version_option(__version__, prog_name="meshway")
def cli() -> None:
    """Meshway: App Mesh and ECS on your own machine, with the real Envoy."""


@cli.command()
@DATA_DIR
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
@click.option(
    "--task-cidr",
    default="198.18.0.0/16",
    show_default=True,
    help="Addresses for awsvpc tasks on the meshway0 bridge.",
)
@click.option(
    "--runtime/--no-runtime",
    default=True,
    show_default=True,
    help="Run ECS tasks on this host (needs root).",
)
@click.option(
    "--dns-port",
    type=int,
    default=0,
    show_default=True,
    help="Loopback port of the task resolver for the host (0: any free port).",
)
@click.option(
    "--xds-port",
    type=int,
    default=15010,
    show_default=True,
    help="Port of the xDS (ADS) server on loopback and the task bridge (0: any free port).",
)
@click.option(
    "--xray-retention-hours",
    type=float,
    default=720.0,
    show_default=True,
    help="Drop X-Ray segments received longer ago than this (AWS keeps traces 30 days).",
)
@click.option(
    "--xray-max-mb",
    type=int,
    default=256,
    show_default=True,
    help="Keep at most this many MiB of X-Ray segment documents (oldest traces go first).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a non-loopback --host without --require-auth (anyone who can reach it can call).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Once serving, bring up the getting-started mesh with traffic (needs root).",
)
def server(
    data_dir: Path,
    host: str,
    port: int,
    store_url: str | None,
    images: Path | None,
    require_auth: Path | None,
    task_cidr: str,
    runtime: bool,
    dns_port: int,
    xds_port: int,
    xray_retention_hours: float,
    xray_max_mb: int,
    log_level: str,
    insecure: bool,
    demo: bool,
) -> None:
    """Run everything in the foreground: AWS endpoint, store, task runtime."""
    from meshway.cli.server import ServerOptions, is_loopback, run
    from meshway.store.traces import Retention

    if not is_loopback(host) and require_auth is None and not insecure:
        raise click.UsageError(
            f"--host {host} is reachable from other machines; give --require-auth FILE so "
            "that every request is verified, or --insecure to accept any well-formed signature."
        )

    run(
        ServerOptions(
            data_dir=data_dir,
            host=host,
            port=port,
            store_url=store_url,
            images=images,
            require_auth=require_auth,
            task_cidr=task_cidr,
            runtime=runtime,
            dns_port=dns_port,
            xds_port=xds_port,
            xray_retention=Retention(
                max_age=xray_retention_hours * 3600, max_bytes=xray_max_mb * 1024 * 1024
            ),
            log_level=log_level,
            demo=demo,
        )
    )


@cli.command()
@DATA_DIR
@click.argument("task")
@click.argument("container", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing as the container writes.")
@click.option("-n", "--lines", type=int, default=100, show_default=True)
def logs(data_dir: Path, task: str, container: str | None, follow: bool, lines: int) -> None:
    """Print a task's container logs (stdout and stderr), as `docker logs` would."""
    from meshway.runtime import logs as task_logs

    state_dir = data_dir / "runtime"
    task_id = task.rsplit("/", 1)[-1]
    names = [container] if container else task_logs.containers_with_logs(state_dir, task_id)
    if not names:
        raise click.ClickException(f"no logs for task {task_id} in {state_dir}")
    files = [task_logs.log_files(state_dir, task_id, name) for name in names]
    for name, pair in zip(names, files, strict=True):
        prefix = f"{name} | " if len(names) > 1 else ""
        for path in (pair.stdout, pair.stderr):
            for line in task_logs.tail(path, lines):
                click.echo(prefix + line)
    if follow:
        paths = [p for pair in files for p in (pair.stdout, pair.stderr)]
        try:
            asyncio.run(_follow(paths))
        except KeyboardInterrupt:
            sys.exit(0)


@cli.command()
@DATA_DIR
@click.argument("name")
@click.option(
    "--type",
    "qtype",
    type=click.Choice(["A", "AAAA", "SRV", "CNAME", "SOA", "ANY"], case_sensitive=False),
    default="A",
    show_default=True,
)
@click.option(
    "--server", "address", default=None, help="HOST:PORT (default: the running server's)."
)
def dns(data_dir: Path, name: str, qtype: str, address: str | None) -> None:
    """Ask the task resolver of a running server, as a task would, and print the answers
    (virtual service names, task hostnames, Cloud Map DNS records): one line per record,
    value, name and TTL separated by tabs; SRV targets' addresses follow their SRV records."""
    from meshway.runtime import dns as resolver

    try:
        if address:
            host, _, port = address.rpartition(":")
            target = (host, int(port))
        else:
            target = resolver.read_address_file(data_dir / resolver.ADDRESS_FILE)
        reply = resolver.query(name, target, qtype.upper())
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot query the resolver: {error}") from error
    rcode = resolver.rcode_name(reply)
    if rcode != "NOERROR":
        click.echo(f"{name}: {rcode}", err=True)
        sys.exit(2)  # as `getent hosts` for a name it cannot find
    for record in [*reply.rr, *reply.ar]:
        click.echo(f"{record.rdata}\t{str(record.rname).rstrip('.')}\t{record.ttl}")


async def _follow(paths: list[Path]) -> None:
    from meshway.runtime import logs as task_logs

    async for _, line in task_logs.follow_many(paths):
        click.echo(line)


def main() -> None:
    cli()


from meshway.cli.apply_command import apply_cmd  # noqa: E402
from meshway.cli.demo import demo_group  # noqa: E402 (commands of their own module)
from meshway.cli.exec_command import exec_cmd  # noqa: E402
from meshway.cli.proxies import proxies, proxy_config  # noqa: E402
from meshway.cli.status import status  # noqa: E402
from meshway.cli.traces import traces  # noqa: E402

cli.add_command(proxies)
cli.add_command(proxy_config)
cli.add_command(demo_group)
cli.add_command(status)
cli.add_command(exec_cmd)
cli.add_command(traces)
cli.add_command(apply_cmd)

from meshway.cli.credential import proxy_credential  # noqa: E402

cli.add_command(proxy_credential)
