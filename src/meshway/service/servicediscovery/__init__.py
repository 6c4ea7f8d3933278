"""The Cloud Map API (servicediscovery 2017-03-14, JSON 1.1, `Route53AutoNaming_v20170314.*`).

`CloudMapService` answers operation `RegisterInstance` with `register_instance(ctx, **members)`
(see `meshway.api.dispatch`); each concept lives in its own module and is mixed in here:
namespaces, services (with service attributes), instances, discovery (DiscoverInstances and its
revision), operations (GetOperation, ListOperations) and tags. `registry` is not an API: it is
how instance records change, for the API and for ECS's service registries alike. Records are
stored as `meshway.model.servicediscovery.records` fixes them.
"""

from __future__ import annotations

from meshway.service.servicediscovery.discovery import DiscoveryOps
from meshway.service.servicediscovery.instances import InstanceOps
from meshway.service.servicediscovery.namespaces import NamespaceOps
from meshway.service.servicediscovery.operations import OperationOps
from meshway.service.servicediscovery.services import ServiceOps
from meshway.service.servicediscovery.tags import TagOps


class CloudMapService(NamespaceOps, ServiceOps, InstanceOps, DiscoveryOps, OperationOps, TagOps):
    """All Cloud Map operations over one store: `CloudMapService(store, clock=, ids=)`."""


__all__ = ["CloudMapService"]
