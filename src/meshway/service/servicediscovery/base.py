"""What every Cloud Map operation module shares: the caller's scope, lookups by id or ARN that
raise AWS's not-found errors, new ids, record rewriting, and opaque page tokens.

Records and their documents are fixed by `meshway.model.servicediscovery.records`. Namespaces
and services are named by an id (`ns-…`, `srv-…`) or an ARN; an ARN of another account or region
names nothing here (Meshway shares no namespaces across accounts).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson

from meshway.core import arns
from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import (
    InvalidInput,
    NamespaceNotFound,
    ServiceNotFound,
    TooManyTagsException,
)
from meshway.core.ids import IdFactory
from meshway.model.servicediscovery.records import (
    ARN_SERVICE,
    NAMESPACE,
    SERVICE,
    CloudMapScope,
)
from meshway.store.base import Record, Store, Transaction

MAX_RESULTS = 100
MAX_TAGS = 50
T = TypeVar("T")


class CloudMapBase:
    """State shared by the operation mixins that make up `CloudMapService`."""

    def __init__(
        self, store: Store, *, clock: Clock, ids: IdFactory, rng: random.Random | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids
        # DiscoverInstances answers in random order, as AWS does; tests may pin the seed.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 (order, not secrets)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{self._ids.hex(16)}"


def scope_of(ctx: RequestContext) -> CloudMapScope:
    return CloudMapScope(region=ctx.region, account=ctx.account)


def resource_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def ref_key(scope: CloudMapScope, ref: str, kind: str) -> str | None:
    """The key a namespace or service reference (id or ARN) names in this scope, else None."""
    parsed = arns.parse(ref)
    if parsed is None:
        if kind == "namespace":
            return scope.namespace_arn(ref)
        return scope.service_arn(ref)
    if (
        parsed.service != ARN_SERVICE
        or parsed.account != scope.account
        or parsed.region != scope.region
        or not parsed.resource.startswith(kind + "/")
    ):
        return None
    return ref


def find_namespace(tx: Transaction, scope: CloudMapScope, ref: str) -> Record | None:
    key = ref_key(scope, ref, "namespace")
    return tx.get(NAMESPACE, key) if key is not None else None


def namespace_or_raise(tx: Transaction, scope: CloudMapScope, ref: str) -> Record:
    record = find_namespace(tx, scope, ref)
    if record is None:
        raise NamespaceNotFound(f"Namespace {ref} not found.")  # unverified wording
    return record


def find_service(tx: Transaction, scope: CloudMapScope, ref: str) -> Record | None:
    key = ref_key(scope, ref, "service")
    return tx.get(SERVICE, key) if key is not None else None


def service_or_raise(tx: Transaction, scope: CloudMapScope, ref: str) -> Record:
    record = find_service(tx, scope, ref)
    if record is None:
        raise ServiceNotFound(f"Service {ref} not found.")  # unverified wording
    return record


def with_body(record: Record, body: Mapping[str, Any]) -> Record:
    return Record(
        kind=record.kind, key=record.key, parent=record.parent, name=record.name, body=body
    )


def check_tags(tags: Sequence[Mapping[str, str]], resource: str) -> None:
    """TooManyTagsException past 50 tags (its documentation); `aws:` keys are AWS's own."""
    if len({t["Key"] for t in tags}) > MAX_TAGS:
        raise TooManyTagsException(
            f"A resource can have at most {MAX_TAGS} tags.",  # unverified wording
            fields={"ResourceName": resource},
        )
    if any(t["Key"].lower().startswith("aws:") for t in tags):
        raise InvalidInput("Tag keys starting with aws: are reserved.")  # unverified wording


def page(
    items: Sequence[T], seqs: Sequence[int], token: str | None, max_results: int | None
) -> tuple[list[T], str | None]:
    """One page of `items` (in creation order, `seqs` their store seqs) after the token's seq."""
    after = _decode(token) if token else 0
    limit = max_results or MAX_RESULTS
    start = next((i for i, seq in enumerate(seqs) if seq > after), len(items))
    chosen = list(items[start : start + limit])
    more = start + limit < len(items)
    return chosen, _encode(seqs[start + limit - 1]) if more else None


def token_after(token: str | None) -> int:
    return _decode(token) if token else 0


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": seq})).decode()


def token_for(seq: int | None) -> str | None:
    return _encode(seq) if seq is not None else None


def _decode(token: str) -> int:
    try:
        return int(orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("The NextToken is not valid.") from exc  # unverified wording
