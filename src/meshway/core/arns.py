"""The one ARN builder and parser: `arn:aws:<service>:<region>:<account>:<resource>`."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Arn:
    partition: str = "aws"
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def build(service: str, region: str, account: str, resource: str) -> str:
    return str(Arn(service=service, region=region, account=account, resource=resource))


def parse(text: str) -> Arn | None:
    """Parse an ARN; None when `text` is not one."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        return None
    _, partition, service, region, account, resource = parts
    return Arn(
        partition=partition, service=service, region=region, account=account, resource=resource
    )
