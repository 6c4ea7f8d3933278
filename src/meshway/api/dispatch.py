"""One AWS request, protocol-neutral: decode → validate → call the service → encode.

A service object answers operation `CreateVirtualNode` with its method `create_virtual_node(ctx,
**members)`, members in snake_case at the top level (nested documents such as `spec` stay in their
wire form, the document AWS stores). The protocol objects know the wire; this module knows the
order of the steps and how an error becomes a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel, Shape

from meshway.api.awsproto.protocols import Encoded, Json11Protocol, RestJsonProtocol
from meshway.api.awsproto.validate import validation_message
from meshway.core.context import RequestContext
from meshway.core.errors import AwsError, InternalFailure

log = logging.getLogger(__name__)

Handler = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Binding:
    """A service Meshway speaks: its protocol, its implementation and how it words a bad input."""

    name: str
    protocol: RestJsonProtocol | Json11Protocol
    service: object
    validation_error: type[AwsError]

    def handler(self, op: OperationModel) -> Handler | None:
        return getattr(self.service, xform_name(op.name), None)


def error_status(binding: Binding, error: AwsError) -> int:
    """The HTTP status the service model gives this error code, else the error's own."""
    shape = binding.protocol.model.shape_for_error_code(error.code)
    if shape is not None:
        status = shape.metadata.get("error", {}).get("httpStatusCode")
        if status:
            return int(status)
    return error.status


def encode_error(binding: Binding, error: AwsError) -> Encoded:
    return binding.protocol.encode_error(error, error_status(binding, error))


def declared_only(shape: Shape, value: Any) -> Any:
    """`value` without the members its shape does not declare, at every depth: AWS ignores
    unknown input members, and nothing undeclared may reach a handler or the store. A member
    that is JSON null is absent, as validation already took it (`{"clusterName": null}` reached
    ECS's handler as None and failed with a 500)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            k: declared_only(members[k], v)
            for k, v in value.items()
            if k in members and v is not None
        }
    if kind == "list" and isinstance(value, list):
        return [declared_only(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: declared_only(shape.value, v) for k, v in value.items()}
    return value


def invoke(
    binding: Binding, op: OperationModel, ctx: RequestContext, params: dict[str, Any]
) -> Encoded:
    """Validate and run one operation; every failure comes back as the service's AWS error."""
    try:
        message = validation_message(op.input_shape, params)
        if message is not None:
            raise binding.validation_error(message)
        handler = binding.handler(op)
        if handler is None:
            raise AwsError(f"{op.name} is not implemented", code="UnsupportedOperation")
        declared = declared_only(op.input_shape, params) if op.input_shape is not None else {}
        members = {xform_name(key): value for key, value in declared.items()}
        output = handler(ctx, **members)
        return binding.protocol.encode(op, output)
    except AwsError as error:
        return encode_error(binding, error)
    except Exception:
        log.exception("internal error in %s.%s", binding.name, op.name)
        return encode_error(binding, InternalFailure("An internal error occurred."))
