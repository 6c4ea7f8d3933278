"""What every ECS operation module shares: the store kinds, the caller's scope, cluster lookup
(with the implicit `default` cluster), task records indexed by phase, and opaque pagination
tokens.

The `default` cluster exists in every account and region without CreateCluster, as in AWS: reads
see it even before it is stored, and the first write that needs it (RunTask, StartTask,
CreateCluster) stores it. Deleting it makes it INACTIVE like any other cluster.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson

from meshway.core import arns as core_arns
from meshway.core.clock import Clock
from meshway.core.context import RequestContext
from meshway.core.errors import ClusterNotFoundException, InvalidParameterException
from meshway.core.ids import IdFactory
from meshway.model.ecs.arns import (
    Scope,
    cluster_arn,
    container_instance_arn,
    is_name,
    resource_name,
)
from meshway.store.base import Record, Store, Transaction

TASK_DEFINITION = "ecs.taskDefinition"
FAMILY = "ecs.family"
CLUSTER = "ecs.cluster"
TASK = "ecs.task"  # `name` is the task's phase (see task_record), parent its cluster ARN
SERVICE = "ecs.service"  # stored by the services issue; clusters count and guard them
DEFAULT_CLUSTER = "default"
MAX_RESULTS = 100

T = TypeVar("T")


class EcsBase:
    """State shared by the operation mixins that make up `EcsService`."""

    def __init__(self, store: Store, *, clock: Clock, ids: IdFactory) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids


# A task record's `name` is its phase, so that live tasks, and the ones waiting for a runtime,
# are found through the store's index instead of by reading every stopped task ever kept.
WAITING_PHASE, RUNNING_PHASE = "WAITING", "RUNNING"
STOPPING_PHASE, STOPPED_PHASE = "STOPPING", "STOPPED"
DESIRED_RUNNING = (WAITING_PHASE, RUNNING_PHASE)
LIVE_PHASES = (WAITING_PHASE, RUNNING_PHASE, STOPPING_PHASE)


def task_phase(body: Mapping[str, Any]) -> str:
    """WAITING (desired RUNNING, no runtime has claimed it), RUNNING (desired RUNNING, claimed),
    STOPPING (asked to stop, not yet STOPPED) or STOPPED."""
    if body["lastStatus"] == "STOPPED":
        return STOPPED_PHASE
    if body["desiredStatus"] != "RUNNING":
        return STOPPING_PHASE
    return RUNNING_PHASE if "_runtime" in body else WAITING_PHASE


def task_record(parent: str, body: Mapping[str, Any]) -> Record:
    """The one way task records are made, so their phase index is always right."""
    return Record(
        kind=TASK, key=str(body["taskArn"]), parent=parent, name=task_phase(body), body=body
    )


def tasks_in(tx: Transaction, phases: Sequence[str], cluster: str | None = None) -> list[Record]:
    """Tasks in the given phases (of one cluster, or all), in creation order."""
    index = {"parent": cluster} if cluster is not None else {}
    found = [r for phase in phases for r in tx.find(TASK, name=phase, **index)]
    return sorted(found, key=lambda r: r.seq)


def scope_of(ctx: RequestContext) -> Scope:
    return Scope(region=ctx.region, account=ctx.account)


def cluster_key(scope: Scope, ref: str | None) -> str:
    """The ARN a cluster reference (name or ARN; None is `default`) names."""
    if ref and core_arns.parse(ref) is not None:
        return ref
    return cluster_arn(scope, ref or DEFAULT_CLUSTER)


def implicit_default(scope: Scope) -> Record:
    arn = cluster_arn(scope, DEFAULT_CLUSTER)
    return Record(
        kind=CLUSTER,
        key=arn,
        parent=scope.key,
        name=DEFAULT_CLUSTER,
        body=new_cluster_body(arn, DEFAULT_CLUSTER, tags=[], settings=None),
    )


def new_cluster_body(
    arn: str, name: str, *, tags: Sequence[Any], settings: Sequence[Any] | None
) -> dict[str, Any]:
    return {
        "clusterArn": arn,
        "clusterName": name,
        "status": "ACTIVE",
        "tags": list(tags),
        "settings": list(settings or [{"name": "containerInsights", "value": "disabled"}]),
        "capacityProviders": [],
        "defaultCapacityProviderStrategy": [],
    }


def find_cluster(tx: Transaction, scope: Scope, ref: str | None) -> Record | None:
    """The cluster record (ACTIVE or INACTIVE), the implicit `default`, or None."""
    key = cluster_key(scope, ref)
    record = tx.get(CLUSTER, key)
    if record is None and key == cluster_arn(scope, DEFAULT_CLUSTER):
        return implicit_default(scope)
    return record


CLUSTER_PATTERN = r"^[a-zA-Z0-9\-_]{1,255}$"


def check_cluster_ref(ref: str | None) -> None:
    """A cluster parameter is an ARN or a name; the message is ECS's (seen for DescribeServices,
    awslabs/amazon-ecs-nodejs-microservices#18)."""
    if ref is not None and core_arns.parse(ref) is None and not is_name(ref):
        raise InvalidParameterException(f"Cluster must match {CLUSTER_PATTERN}, but was {ref}")


def active_cluster(tx: Transaction, scope: Scope, ref: str | None, *, store: bool) -> Record:
    """An ACTIVE cluster or ClusterNotFoundException; `store` saves an implicit `default`."""
    check_cluster_ref(ref)
    record = find_cluster(tx, scope, ref)
    if record is None or record.body["status"] != "ACTIVE":
        raise ClusterNotFoundException("Cluster not found.")
    if store and record.seq == 0:
        record = tx.put(record)
    return record


def host_instance_arn(scope: Scope, cluster: str) -> str:
    """This host, as the one container instance of a cluster (StartTask targets it). Its id is
    derived from the cluster ARN so that it is stable without being stored."""
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:32]
    return container_instance_arn(scope, resource_name(cluster, "cluster"), digest)


def paginate(
    items: Sequence[T],
    key: Callable[[T], Any],
    token: str | None,
    max_results: int | None,
    *,
    descending: bool = False,
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`, descending if told) after the key the token names;
    items added or removed between pages neither repeat nor shift the rest."""
    limit = MAX_RESULTS if max_results is None else max_results
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidParameterException(  # unverified wording
            f"maxResults must be between 1 and {MAX_RESULTS}."
        )
    start = 0
    if token:
        after = _decode_token(token)
        start = next(
            (i for i, item in enumerate(items) if _beyond(_jsonable(key(item)), after, descending)),
            len(items),
        )
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, _encode_token(key(page[-1])) if more and page else None


def _beyond(value: Any, after: Any, descending: bool) -> bool:
    try:
        return bool(value < after) if descending else bool(value > after)
    except TypeError as exc:
        raise InvalidParameterException("Invalid nextToken.") from exc  # unverified wording


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": value})).decode()


def _decode_token(token: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterException("Invalid nextToken.") from exc  # unverified wording
