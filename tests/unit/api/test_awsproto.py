"""The model-driven protocol layer: routing, decoding, validation wording, output filtering."""

from __future__ import annotations

import orjson
import pytest

from meshway.api.awsproto.model import service_model
from meshway.api.awsproto.protocols import Json11Protocol, RestJsonProtocol
from meshway.api.awsproto.validate import validation_message
from meshway.core.errors import SerializationException, UnknownOperationException

APPMESH = RestJsonProtocol(service_model("appmesh"))
ECS = Json11Protocol(service_model("ecs"))


@pytest.mark.parametrize(
    ("method", "path", "operation", "labels"),
    [
        ("PUT", "/v20190125/meshes", "CreateMesh", {}),
        ("GET", "/v20190125/meshes", "ListMeshes", {}),
        ("GET", "/v20190125/meshes/m", "DescribeMesh", {"meshName": "m"}),
        (
            "DELETE",
            "/v20190125/meshes/m/virtualNodes/n",
            "DeleteVirtualNode",
            {"meshName": "m", "virtualNodeName": "n"},
        ),
        (
            "GET",
            "/v20190125/meshes/m/virtualRouter/r/routes/x",
            "DescribeRoute",
            {"meshName": "m", "virtualRouterName": "r", "routeName": "x"},
        ),
        ("GET", "/v20190125/meshes/m/virtualRouters", "ListVirtualRouters", {"meshName": "m"}),
        ("PUT", "/v20190125/tag", "TagResource", {}),
        ("GET", "/v20190125/meshes/a%20b", "DescribeMesh", {"meshName": "a b"}),
    ],
)
def test_rest_json_requests_route_by_method_and_uri_template(
    method: str, path: str, operation: str, labels: dict[str, str]
) -> None:
    op, found = APPMESH.route(method, path)
    assert op.name == operation
    assert found == labels


def test_an_unknown_path_is_an_unknown_operation() -> None:
    with pytest.raises(UnknownOperationException):
        APPMESH.route("GET", "/v20190125/nothing/here")


def test_query_members_are_decoded_in_their_model_types() -> None:
    op, labels = APPMESH.route("GET", "/v20190125/meshes/m/virtualNodes")
    params = APPMESH.decode(op, labels, [("limit", "5"), ("nextToken", "t")], {}, b"")
    assert params == {"meshName": "m", "limit": 5, "nextToken": "t"}


def test_a_body_that_is_not_json_is_a_serialization_error() -> None:
    op, labels = APPMESH.route("PUT", "/v20190125/meshes")
    with pytest.raises(SerializationException):
        APPMESH.decode(op, labels, [], {}, b"{not json")


def test_payload_outputs_are_the_whole_body_and_drop_undeclared_members() -> None:
    op, _ = APPMESH.route("GET", "/v20190125/meshes/m")
    mesh = {
        "meshName": "m",
        "spec": {},
        "status": {"status": "ACTIVE"},
        "secret": "x",
        "metadata": {
            "arn": "a",
            "createdAt": 1.5,
            "lastUpdatedAt": 1.5,
            "meshOwner": "1",
            "resourceOwner": "1",
            "uid": "u",
            "version": 1,
        },
    }
    encoded = APPMESH.encode(op, {"mesh": mesh})
    body = orjson.loads(encoded.body)
    assert encoded.status == 200
    assert body["meshName"] == "m"
    assert "secret" not in body


def test_errors_carry_their_type_in_the_header_for_rest_json_and_the_body_for_json() -> None:
    rest = APPMESH.encode_error(UnknownOperationException("no"), 404)
    assert rest.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert orjson.loads(rest.body) == {"message": "no"}
    json11 = ECS.encode_error(UnknownOperationException("no"), 400)
    assert orjson.loads(json11.body) == {"__type": "UnknownOperationException", "message": "no"}


def test_json_targets_route_to_operations_of_their_prefix_only() -> None:
    assert ECS.route("AmazonEC2ContainerServiceV20141113.ListClusters").name == "ListClusters"
    with pytest.raises(UnknownOperationException):
        ECS.route("SomethingElse.ListClusters")


def shape(operation: str):  # type: ignore[no-untyped-def]
    return service_model("appmesh").operation_model(operation).input_shape


def test_valid_input_has_no_validation_message() -> None:
    assert validation_message(shape("CreateMesh"), {"meshName": "m"}) is None


def test_a_missing_required_member_is_reported_as_null() -> None:
    message = validation_message(shape("CreateMesh"), {})
    assert message == (
        "1 validation error detected: Value null at 'meshName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_nested_list_positions_count_from_one_as_aws_does() -> None:
    spec = {
        "listeners": [
            {"portMapping": {"port": 8080, "protocol": "http"}},
            {"portMapping": {"port": 70000, "protocol": "http"}},
        ]
    }
    message = validation_message(
        shape("CreateVirtualNode"), {"meshName": "m", "virtualNodeName": "n", "spec": spec}
    )
    assert message is not None
    assert "Value '70000' at 'spec.listeners.2.member.portMapping.port'" in message
    assert "Member must have value less than or equal to 65535" in message


def test_a_union_with_two_members_set_is_rejected() -> None:
    spec = {
        "serviceDiscovery": {
            "dns": {"hostname": "a"},
            "awsCloudMap": {"namespaceName": "n", "serviceName": "s"},
        }
    }
    message = validation_message(
        shape("CreateVirtualNode"), {"meshName": "m", "virtualNodeName": "n", "spec": spec}
    )
    assert message is not None
    assert "spec.serviceDiscovery" in message


def test_wrong_types_and_enums_are_reported_together() -> None:
    message = validation_message(
        shape("CreateMesh"),
        {"meshName": 5, "spec": {"egressFilter": {"type": "BOGUS"}}},
    )
    assert message is not None
    assert message.startswith("2 validation errors detected")
    assert "Member must satisfy enum value set: [ALLOW_ALL, DROP_ALL]" in message
