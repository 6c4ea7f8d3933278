"""`meshway apply`'s plan, pure: the document's shapes, dependency order, and create / update /
unchanged decided by comparing with what the server has."""

from __future__ import annotations

from typing import Any

import pytest

from meshway.cli.apply import (
    ApplyError,
    Current,
    Verb,
    differences,
    parse_document,
    pending,
    plan,
    prune,
)

LISTENER = {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]}
ROUTE = {
    "httpRoute": {
        "match": {"prefix": "/"},
        "action": {"weightedTargets": [{"virtualNode": "blue", "weight": 1}]},
    }
}
DEFINITION: dict[str, Any] = {
    "family": "front",
    "containerDefinitions": [{"name": "app", "image": "app", "memory": 128}],
}
SERVICE = {"cluster": "c1", "serviceName": "front", "taskDefinition": "front", "desiredCount": 1}


def document(**extra: Any) -> dict[str, Any]:
    return {
        "meshes": [
            {
                "name": "m",
                "virtualGateways": [
                    {"name": "gw", "spec": LISTENER, "gatewayRoutes": [{"name": "gr", "spec": {}}]}
                ],
                "virtualServices": [{"name": "svc", "spec": {}}],
                "virtualRouters": [
                    {"name": "r", "spec": LISTENER, "routes": [{"name": "rt", "spec": ROUTE}]}
                ],
                "virtualNodes": [{"name": "blue", "spec": LISTENER}],
            }
        ],
        "taskDefinitions": [DEFINITION],
        "services": [SERVICE],
        **extra,
    }


def test_resources_come_in_dependency_order_whatever_the_file_order() -> None:
    kinds = [r.kind for r in parse_document(document())]
    assert kinds == [
        "mesh",
        "virtualNode",
        "virtualRouter",
        "route",
        "virtualService",
        "virtualGateway",
        "gatewayRoute",
        "cluster",
        "taskDefinition",
        "service",
    ]


def test_the_demo_shape_with_one_mesh_and_top_level_children_is_read() -> None:
    found = parse_document({"mesh": {"name": "demo"}, "virtualNodes": [{"name": "a", "spec": {}}]})
    assert [(r.kind, r.scope, r.name) for r in found] == [
        ("mesh", "", "demo"),
        ("virtualNode", "demo", "a"),
    ]


def test_a_route_knows_its_mesh_and_router() -> None:
    route = next(r for r in parse_document(document()) if r.kind == "route")
    assert (route.scope, route.parent, route.name, route.label) == ("m", "r", "rt", "m/r/rt")


def test_a_service_names_its_cluster_which_is_created_if_missing() -> None:
    found = parse_document({"services": [{**SERVICE, "cluster": "other"}], "clusters": ["c1"]})
    assert [(r.kind, r.name) for r in found] == [
        ("cluster", "c1"),
        ("cluster", "other"),
        ("service", "front"),
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must hold a mapping"),
        ({"meshes": [{"spec": {}}]}, "meshes[0]: expected a mapping with a string `name`"),
        ({"mesh": {"name": "m"}, "virtualNodes": {"a": 1}}, "virtualNodes: expected a list"),
        ({"services": [{"serviceName": "s"}]}, "services[0]: expected a string `taskDefinition`"),
        ({"taskDefinitions": [{}]}, "taskDefinitions[0]: expected a mapping"),
        (
            {"mesh": {"name": "m"}, "virtualNodes": [{"name": "a"}, {"name": "a"}]},
            "virtualNode m/a is given twice",
        ),
    ],
)
def test_a_malformed_document_is_refused_with_where(doc: Any, message: str) -> None:
    with pytest.raises(ApplyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_document(doc)


def test_against_an_empty_server_everything_is_created() -> None:
    actions = plan(parse_document(document()), Current())
    assert {a.verb for a in actions} == {Verb.CREATE}


def current_matching(resources: Any) -> Current:
    return Current(
        specs={
            r.key: r.body
            for r in resources
            if r.kind not in ("cluster", "taskDefinition", "service")
        },
        clusters=frozenset({"c1"}),
        definitions={
            "front": {
                **DEFINITION,
                "taskDefinitionArn": "arn:aws:ecs:us-west-2:1:task-definition/front:3",
                "revision": 3,
                "containerDefinitions": [
                    {**DEFINITION["containerDefinitions"][0], "cpu": 0, "essential": True}
                ],
            }
        },
        services={
            ("c1", "front"): {
                "taskDefinition": "arn:aws:ecs:us-west-2:1:task-definition/front:3",
                "desiredCount": 1,
            }
        },
    )


def test_what_the_server_already_has_is_left_unchanged() -> None:
    resources = parse_document(document())
    assert pending(plan(resources, current_matching(resources))) == []


def test_a_weight_change_is_an_update_of_that_route_only() -> None:
    resources = parse_document(document())
    current = current_matching(resources)
    changed_route = {
        "httpRoute": {
            **ROUTE["httpRoute"],
            "action": {"weightedTargets": [{"virtualNode": "blue", "weight": 2}]},
        }
    }
    specs = {k: (changed_route if k[0] == "route" else v) for k, v in current.specs.items()}
    todo = pending(plan(resources, Current(**{**current_fields(current), "specs": specs})))
    assert [(a.verb, a.resource.kind, a.changed) for a in todo] == [
        (Verb.UPDATE, "route", ("httpRoute.action.weightedTargets[0].weight",))
    ]


def current_fields(current: Current) -> dict[str, Any]:
    return {
        "specs": current.specs,
        "clusters": current.clusters,
        "definitions": current.definitions,
        "services": current.services,
    }


def test_a_changed_task_definition_is_registered_and_its_service_moved_to_it() -> None:
    changed = {
        **DEFINITION,
        "containerDefinitions": [{"name": "app", "image": "v2", "memory": 128}],
    }
    resources = parse_document({"taskDefinitions": [changed], "services": [SERVICE]})
    todo = pending(plan(resources, current_matching(resources)))
    assert [(a.verb, a.resource.kind, a.changed) for a in todo] == [
        (Verb.UPDATE, "taskDefinition", ("containerDefinitions[0].image",)),
        (Verb.UPDATE, "service", ("taskDefinition",)),
    ]


def test_a_desired_count_change_updates_the_service() -> None:
    resources = parse_document({"services": [{**SERVICE, "desiredCount": 3}]})
    todo = pending(plan(resources, current_matching(resources)))
    assert [(a.resource.kind, a.changed) for a in todo] == [("service", ("desiredCount",))]


def test_a_service_on_an_older_revision_than_the_familys_latest_is_moved() -> None:
    resources = parse_document({"services": [SERVICE]})
    current = current_matching(resources)
    older = {
        ("c1", "front"): {"taskDefinition": "arn:x:task-definition/front:2", "desiredCount": 1}
    }
    todo = pending(plan(resources, Current(**{**current_fields(current), "services": older})))
    assert [a.changed for a in todo] == [("taskDefinition",)]


def test_empty_values_are_not_differences_but_removed_fields_are() -> None:
    assert differences(prune({"a": 1, "b": []}), prune({"a": 1, "b": None, "c": {}})) == []
    assert differences({"a": 1}, {"a": 1, "b": 2}) == ["b"]
    assert differences({"a": 1}, {"a": 1, "b": 2}, subset=True) == []
    assert differences({"l": [1, 2]}, {"l": [1]}, subset=True) == ["l"]


CLOUD_MAP = {
    "cloudMap": {
        "namespaces": [
            {
                "Name": "demo.local",
                "Type": "DNS_PRIVATE",
                "Vpc": "vpc-1",
                "Services": [
                    {"Name": "front", "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 60}]}}
                ],
            }
        ]
    }
}


def test_cloud_map_namespaces_and_services_come_before_the_mesh() -> None:
    found = parse_document({**CLOUD_MAP, "mesh": {"name": "m"}})
    assert [(r.kind, r.scope, r.name) for r in found] == [
        ("cloudMapNamespace", "", "demo.local"),
        ("cloudMapService", "demo.local", "front"),
        ("mesh", "", "m"),
    ]


def test_a_cloud_map_service_is_updated_only_when_its_dns_records_differ() -> None:
    resources = parse_document(CLOUD_MAP)
    stored: dict[str, Any] = {
        "Id": "srv-1",
        "Name": "front",
        "DnsConfig": {
            "NamespaceId": "ns-1",
            "RoutingPolicy": "MULTIVALUE",
            "DnsRecords": [{"Type": "A", "TTL": 60}],
        },
    }
    same = Current(
        namespaces={"demo.local": {"Id": "ns-1"}}, discovery={("demo.local", "front"): stored}
    )
    assert pending(plan(resources, same)) == []
    longer = {
        **stored,
        "DnsConfig": {**stored["DnsConfig"], "DnsRecords": [{"Type": "A", "TTL": 300}]},
    }
    changed = Current(namespaces=same.namespaces, discovery={("demo.local", "front"): longer})
    assert [a.changed for a in pending(plan(resources, changed))] == [
        ("DnsConfig.DnsRecords[0].TTL",)
    ]


def test_an_unknown_namespace_type_is_refused() -> None:
    with pytest.raises(ApplyError, match=r"cloudMap.namespaces\[0\].Type: one of HTTP"):
        parse_document({"cloudMap": {"namespaces": [{"Name": "x", "Type": "LDAP"}]}})


def test_the_demo_file_applies_as_it_stands_with_the_demos_task_definitions() -> None:
    from meshway.cli import demo

    found = parse_document(demo.resources())
    definitions = {r.name: r.body for r in found if r.kind == "taskDefinition"}
    services = {r.name: r.body for r in found if r.kind == "service"}
    assert set(definitions) == {"demo-front", "demo-colorteller-blue", "demo-colorteller-red"}
    front = demo.resources()["services"][2]
    assert definitions["demo-front"] == demo.task_definition("demo", front)
    assert services["front"]["taskDefinition"] == "demo-front"
    assert {r.name for r in found if r.kind == "cluster"} == {"meshway-demo"}
    assert [r.kind for r in found].count("route") == 1
