"""The Amazon ECS API (2014-11-13, JSON 1.1): task definitions, clusters, tasks and tags, plus
the interface the task runtime drives tasks through.

`EcsService` answers operation `RunTask` with `run_task(ctx, **members)` (see
`meshway.api.dispatch`); each concept lives in its own module and is mixed in here:
task_definitions, clusters (and ListContainerInstances: this host is each cluster's one
container instance), tasks (with launch checks in launch), tags, and runtime (not an AWS API:
how the task runtime claims tasks and reports their state), services (CreateService …
DeleteService) and scheduling (not an AWS API: how the service scheduler reconciles services).
"""

from __future__ import annotations

from meshway.service.ecs.clusters import ClusterOps
from meshway.service.ecs.runtime import ClaimedTask, RuntimeOps
from meshway.service.ecs.scheduling import Reconciled, SchedulingOps
from meshway.service.ecs.tags import TagOps
from meshway.service.ecs.task_definitions import TaskDefinitionOps
from meshway.service.ecs.tasks import TaskOps


class EcsService(TaskDefinitionOps, ClusterOps, SchedulingOps, TaskOps, TagOps, RuntimeOps):
    """All ECS operations over one store; construct with `EcsService(store, clock=, ids=)`."""


__all__ = ["ClaimedTask", "EcsService", "Reconciled"]
