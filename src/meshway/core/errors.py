"""AWS errors, named after their AWS error codes.

The protocol layer (`meshway.api.awsproto`) turns an `AwsError` into the wire form of the service
that raised it; the HTTP status comes from the service model's error shape when it has one, else
from `status` here. Services raise these and nothing else for a client's mistake.
"""

from __future__ import annotations


class AwsError(Exception):
    """An error the client sees, with AWS's code and message."""

    code: str = "InternalFailure"
    status: int = 400

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
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
