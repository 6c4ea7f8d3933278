"""Who is calling and where: the account and region of one request."""

from __future__ import annotations

from dataclasses import dataclass, field

from meshway.core.arns import DEFAULT_ACCOUNT, DEFAULT_REGION


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    access_key: str = ""
    request_id: str = field(default="")
