"""ECS ARNs, ids and the references users pass for them (name, id, `family:rev` or full ARN).

ECS uses the long ARN format throughout: `task-definition/FAMILY:REV`, `cluster/NAME`,
`task/CLUSTER/ID`, `container/CLUSTER/TASK_ID/UUID`, `container-instance/CLUSTER/ID`.
Neighbours: `meshway.core.arns` builds and parses the generic form; the ECS service resolves the
references parsed here against the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshway.core import arns

SERVICE = "ecs"
NAME_PATTERN = r"^[a-zA-Z0-9\-_]+$"
_NAME = re.compile(r"^[a-zA-Z0-9\-_]{1,255}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Where ECS resources live: one account in one region."""

    region: str
    account: str

    @property
    def key(self) -> str:
        """The listing parent of account-wide resources (clusters, task definitions)."""
        return f"{self.region}:{self.account}"

    def arn(self, resource: str) -> str:
        return arns.build(SERVICE, self.region, self.account, resource)


def is_name(text: str) -> bool:
    """ECS's family, cluster and container name rule: 1-255 letters, digits, `-` and `_`."""
    return _NAME.match(text) is not None


def task_definition_arn(scope: Scope, family: str, revision: int) -> str:
    return scope.arn(f"task-definition/{family}:{revision}")


def cluster_arn(scope: Scope, name: str) -> str:
    return scope.arn(f"cluster/{name}")


def task_arn(scope: Scope, cluster: str, task_id: str) -> str:
    return scope.arn(f"task/{cluster}/{task_id}")


def container_arn(scope: Scope, cluster: str, task_id: str, container_id: str) -> str:
    return scope.arn(f"container/{cluster}/{task_id}/{container_id}")


def container_instance_arn(scope: Scope, cluster: str, instance_id: str) -> str:
    return scope.arn(f"container-instance/{cluster}/{instance_id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDefinitionRef:
    family: str
    revision: int | None  # None: the family's latest ACTIVE revision


def parse_task_definition_ref(text: str) -> TaskDefinitionRef | None:
    """`family`, `family:revision` or a task-definition ARN; None when it is none of these."""
    parsed = arns.parse(text)
    if parsed is not None:
        if parsed.service != SERVICE or not parsed.resource.startswith("task-definition/"):
            return None
        text = parsed.resource.removeprefix("task-definition/")
    family, sep, revision = text.partition(":")
    if not is_name(family):
        return None
    if not sep:
        return None if parsed is not None else TaskDefinitionRef(family=family, revision=None)
    if not revision.isdigit() or int(revision) < 1:
        return None
    return TaskDefinitionRef(family=family, revision=int(revision))


def resource_name(text: str, resource_type: str) -> str:
    """The name in `cluster/NAME`-style ARNs, or `text` itself when it is not an ARN."""
    parsed = arns.parse(text)
    if parsed is None:
        return text
    kind, _, rest = parsed.resource.partition("/")
    return rest if kind == resource_type else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRef:
    cluster: str | None  # from a long-format ARN; None for a bare id
    task_id: str


def parse_task_ref(text: str) -> TaskRef | None:
    """A task id, or a task ARN in the long (`task/CLUSTER/ID`) or old short (`task/ID`) form."""
    parsed = arns.parse(text)
    if parsed is None:
        return TaskRef(cluster=None, task_id=text) if text and "/" not in text else None
    parts = parsed.resource.split("/")
    if parts[0] != "task" or parsed.service != SERVICE:
        return None
    if len(parts) == 3:
        return TaskRef(cluster=parts[1], task_id=parts[2])
    if len(parts) == 2:
        return TaskRef(cluster=None, task_id=parts[1])
    return None


def scope_of(arn: str) -> Scope | None:
    parsed = arns.parse(arn)
    if parsed is None or parsed.service != SERVICE:
        return None
    return Scope(region=parsed.region, account=parsed.account)
