"""botocore's service models, loaded once: the single schema source for every AWS API we speak."""

from __future__ import annotations

from functools import cache

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel


@cache
def _loader() -> Loader:
    return Loader()


@cache
def service_model(name: str) -> ServiceModel:
    """The newest model of `name` (e.g. `appmesh` → 2019-01-25) shipped with the pinned botocore."""
    data = _loader().load_service_model(name, "service-2")
    return ServiceModel(data, service_name=name)


@cache
def operations(name: str) -> dict[str, OperationModel]:
    model = service_model(name)
    return {op: model.operation_model(op) for op in model.operation_names}
