"""What the client commands (`status`, `traces`, `apply`) share: the endpoint and output options,
botocore clients for the endpoint, AWS errors shown as `Code: message` with exit code 1, and the
two renderings (rich tables for people, `--output json` for programs).

Credentials and region come from the usual AWS chain (environment, profile); with none set, a
placeholder key is used, which the server maps to its default account 000000000000 as it does
for any key that is not 12 digits.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import botocore.session
import click
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

DEFAULT_ENDPOINT = "http://127.0.0.1:7700"
DEFAULT_REGION = "us-west-2"
PLACEHOLDER_KEY = "meshway"

P = ParamSpec("P")
R = TypeVar("R")

ENDPOINT = click.option(
    "--endpoint-url",
    default=lambda: os.environ.get("AWS_ENDPOINT_URL", DEFAULT_ENDPOINT),
    show_default=DEFAULT_ENDPOINT,
    help="The server's endpoint (or $AWS_ENDPOINT_URL).",
)
REGION = click.option(
    "--region",
    default=None,
    help=f"AWS region (default: $AWS_REGION, the profile's, or {DEFAULT_REGION}).",
)
OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tables for people, JSON for programs.",
)


def client(endpoint: str, service: str, region: str | None = None) -> Any:
    """A botocore client for `service` at `endpoint` (boto3 is not needed at run time)."""
    session = botocore.session.get_session()
    keys = (
        {}
        if session.get_credentials() is not None
        else {"aws_access_key_id": PLACEHOLDER_KEY, "aws_secret_access_key": PLACEHOLDER_KEY}
    )
    return session.create_client(
        service,
        endpoint_url=endpoint,
        region_name=region or session.get_config_variable("region") or DEFAULT_REGION,
        config=Config(retries={"max_attempts": 1}),  # a retried create could act twice
        **keys,
    )


def error_text(error: ClientError) -> str:
    found = error.response.get("Error", {})
    return f"{found.get('Code', 'Error')}: {found.get('Message', '')}".rstrip()


def aws_errors(command: Callable[P, R]) -> Callable[P, R]:
    """AWS errors as `Error: Code: message` on stderr and exit code 1; unreachable endpoints as
    a sentence."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ClientError as error:
            raise click.ClickException(error_text(error)) from error
        except BotoCoreError as error:
            raise click.ClickException(str(error)) from error

    return wrapper


def console() -> Console:
    """Stdout; a terminal's width, else $COLUMNS, else 200 (a pipe should not wrap rows)."""
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console(soft_wrap=False, width=None if wide else 200)


def console_err() -> Console:
    return Console(stderr=True)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    found = Table(title=title, title_justify="left")
    for column in columns:
        found.add_column(column)
    for row in rows:
        found.add_row(*("-" if cell is None else str(cell) for cell in row))
    return found
