"""AWS errors, named after their AWS error codes.

The protocol layer (`meshway.api.awsproto`) turns an `AwsError` into the wire form of the service
that raised it; the HTTP status comes from the service model's error shape when it has one, else
from `status` here. Services raise these and nothing else for a client's mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AwsError(Exception):
    """An error the client sees, with AWS's code and message."""

    code: str = "InternalFailure"
    status: int = 400

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        fields: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        # Members the error shape declares besides its message (Cloud Map's NamespaceAlreadyExists
        # carries NamespaceId, CreatorRequestId); json-1.1 puts them beside `message`.
        self.fields: dict[str, Any] = dict(fields or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __repr__(self) -> str:
        return f"{self.code}({self.message!r})"


def _error(name: str, status: int) -> type[AwsError]:
    return type(name, (AwsError,), {"code": name, "status": status, "__module__": __name__})


# Shared by several services (generic AWS protocol errors).
ValidationException = _error("ValidationException", 400)
SerializationException = _error("SerializationException", 400)
UnknownOperationException = _error("UnknownOperationException", 404)
InternalFailure = _error("InternalFailure", 500)
MissingAuthenticationTokenException = _error("MissingAuthenticationTokenException", 403)
IncompleteSignatureException = _error("IncompleteSignatureException", 400)
InvalidSignatureException = _error("InvalidSignatureException", 403)
UnrecognizedClientException = _error("UnrecognizedClientException", 403)
SignatureDoesNotMatch = _error("SignatureDoesNotMatch", 403)

# App Mesh (2019-01-25).
BadRequestException = _error("BadRequestException", 400)
ConflictException = _error("ConflictException", 409)
ForbiddenException = _error("ForbiddenException", 403)
NotFoundException = _error("NotFoundException", 404)
ResourceInUseException = _error("ResourceInUseException", 409)
LimitExceededException = _error("LimitExceededException", 400)
TooManyRequestsException = _error("TooManyRequestsException", 429)
TooManyTagsException = _error("TooManyTagsException", 400)
InternalServerErrorException = _error("InternalServerErrorException", 500)
ServiceUnavailableException = _error("ServiceUnavailableException", 503)

# ECS (2014-11-13).
ClientException = _error("ClientException", 400)
InvalidParameterException = _error("InvalidParameterException", 400)
ServerException = _error("ServerException", 500)
ClusterNotFoundException = _error("ClusterNotFoundException", 400)
ClusterContainsTasksException = _error("ClusterContainsTasksException", 400)
ClusterContainsServicesException = _error("ClusterContainsServicesException", 400)
ClusterContainsContainerInstancesException = _error(
    "ClusterContainsContainerInstancesException", 400
)
ServiceNotFoundException = _error("ServiceNotFoundException", 400)
ServiceNotActiveException = _error("ServiceNotActiveException", 400)
ResourceNotFoundException = _error("ResourceNotFoundException", 400)
UnsupportedFeatureException = _error("UnsupportedFeatureException", 400)
EcsLimitExceededException = _error("LimitExceededException", 400)
EcsConflictException = _error("ConflictException", 400)

# X-Ray (2016-04-12).
InvalidRequestException = _error("InvalidRequestException", 400)
ThrottledException = _error("ThrottledException", 429)
RuleLimitExceededException = _error("RuleLimitExceededException", 400)

# Cloud Map (servicediscovery 2017-03-14); HTTP statuses come from the model's error shapes.
CustomHealthNotFound = _error("CustomHealthNotFound", 404)
DuplicateRequest = _error("DuplicateRequest", 409)
InstanceNotFound = _error("InstanceNotFound", 404)
InvalidInput = _error("InvalidInput", 400)
NamespaceAlreadyExists = _error("NamespaceAlreadyExists", 400)
NamespaceNotFound = _error("NamespaceNotFound", 404)
OperationNotFound = _error("OperationNotFound", 404)
RequestLimitExceeded = _error("RequestLimitExceeded", 429)
ResourceInUse = _error("ResourceInUse", 409)
ResourceLimitExceeded = _error("ResourceLimitExceeded", 400)
ServiceAlreadyExists = _error("ServiceAlreadyExists", 400)
ServiceAttributesLimitExceededException = _error("ServiceAttributesLimitExceededException", 400)
ServiceNotFound = _error("ServiceNotFound", 404)
