"""This request, from this node, reaches this cluster with these retries and this timeout.

Each test builds a mesh, translates it for one proxy and sends a request through the simulator
(`routesim`) over the produced listeners and route configurations.
"""

from __future__ import annotations

from meshway.xds import names
from meshway.xds.translate import build_snapshot
from tests.unit.xds.routesim import Outcome, Request, send
from tests.unit.xds.scenarios import (
    CLIENT,
    FRONT,
    GATEWAY,
    WHITE,
    allow_all,
    gateway,
    policies,
    providers,
    routing,
    seed,
)

EGRESS = names.egress_listener()
INGRESS = names.ingress_listener()
WHITE_9080 = "cds_egress_demo_colorteller-white_http_9080"
BLACK_9080 = "cds_egress_demo_colorteller-black_http_9080"
SERVER_ERRORS = [500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]


def from_front(mesh_factory: object, request: Request) -> Outcome:
    return send(build_snapshot(mesh_factory().view(), FRONT), EGRESS, request)  # type: ignore[operator]


def test_the_seed_front_reaches_both_colortellers_by_weight_with_the_default_retries() -> None:
    outcome = from_front(seed, Request(host="colorteller.demo.local:9080"))
    assert outcome.clusters == {WHITE_9080: 50, BLACK_9080: 50}
    assert outcome.timeout == "15s"
    assert outcome.retry is not None
    assert outcome.retry["num_retries"] == 2
    assert outcome.retry["retriable_status_codes"] == [503]
    assert set(outcome.retry["retry_on"].split(",")) == {
        "unavailable",
        "connect-failure",
        "refused-stream",
        "retriable-status-codes",
        "reset",
    }


def test_the_bare_service_name_without_port_matches_the_same_virtual_host() -> None:
    outcome = from_front(seed, Request(host="colorteller.demo.local"))
    assert outcome.receiving == {WHITE_9080, BLACK_9080}


def test_a_weight_change_to_100_0_sends_everything_to_white_and_keeps_black_listed() -> None:
    outcome = from_front(lambda: seed(white=100, black=0), Request(host="colorteller.demo.local"))
    assert outcome.receiving == {WHITE_9080}
    assert outcome.clusters[BLACK_9080] == 0


def test_an_unknown_host_on_a_backend_port_gets_404() -> None:
    outcome = from_front(seed, Request(host="colorteller"))
    assert outcome.kind == "no-virtual-host"
    assert outcome.status == 404


def test_drop_all_has_no_chain_for_an_unknown_port_but_allow_all_passes_it_through() -> None:
    assert from_front(seed, Request(host="example.com", port=8080)).kind == "no-filter-chain"
    outcome = from_front(allow_all, Request(host="example.com", port=8080))
    assert outcome.kind == "tcp"
    assert outcome.clusters == {names.allow_all_cluster("demo"): 1}


def test_aws_api_calls_pass_even_with_drop_all() -> None:
    request = Request(host="s3.amazonaws.com", port=443, server_name="s3.us-east-1.amazonaws.com")
    assert from_front(seed, request).clusters == {names.amazonaws_cluster("demo"): 1}
    other_tls = Request(host="example.com", port=443, server_name="example.com")
    assert from_front(seed, other_tls).kind == "no-filter-chain"
    assert from_front(allow_all, other_tls).clusters == {names.allow_all_cluster("demo"): 1}


def test_the_priority_route_with_header_method_and_query_matches_wins() -> None:
    request = Request(
        host="colorteller.demo.local", path="/?color=black", headers={"X-Beta": "yes"}
    )
    outcome = from_front(routing, request)
    assert outcome.route_name == "beta-header"
    assert outcome.receiving == {BLACK_9080}
    assert outcome.timeout == "30s"
    assert outcome.idle_timeout == "60s"
    assert outcome.retry is not None
    assert outcome.retry["num_retries"] == 3
    assert outcome.retry["per_try_timeout"] == "0.500s"
    assert outcome.retry["retriable_status_codes"] == SERVER_ERRORS
    assert (
        outcome.retry["retry_on"] == "reset,refused-stream,connect-failure,retriable-status-codes"
    )


def test_an_inverted_header_that_is_present_skips_the_route() -> None:
    request = Request(
        host="colorteller.demo.local",
        path="/?color=black",
        headers={"X-Beta": "yes", "X-Debug": "1"},
    )
    outcome = from_front(routing, request)
    assert outcome.route_name == "default"
    assert outcome.clusters == {WHITE_9080: 3, BLACK_9080: 1}
    assert outcome.retry is not None
    assert outcome.retry["retriable_status_codes"] == [502, 503, 504]


def test_a_post_does_not_match_a_get_route() -> None:
    request = Request(
        host="colorteller.demo.local",
        path="/?color=black",
        method="POST",
        headers={"x-beta": "yes"},
    )
    assert from_front(routing, request).route_name == "default"


def test_an_exact_path_route_with_a_zero_timeout_disables_the_timeout() -> None:
    outcome = from_front(routing, Request(host="colorteller.demo.local", path="/health"))
    assert outcome.route_name == "exact-path"
    assert outcome.timeout == "0s"
    assert (
        from_front(routing, Request(host="colorteller.demo.local", path="/health/x")).route_name
        == "default"
    )


def test_a_regex_path_must_match_the_whole_path() -> None:
    assert (
        from_front(routing, Request(host="colorteller.demo.local", path="/items/42")).route_name
        == "regex-path"
    )
    assert (
        from_front(routing, Request(host="colorteller.demo.local", path="/items/42x")).route_name
        == "default"
    )


def test_a_header_range_is_start_inclusive_end_exclusive() -> None:
    headers = {"x-tenant": "acme-1", "x-region": "eu-1", "x-trace": "beef"}
    for version, route in (("1", "range-header"), ("4", "range-header"), ("5", "default")):
        request = Request(
            host="colorteller.demo.local", path="/api/x", headers={**headers, "x-version": version}
        )
        assert from_front(routing, request).route_name == route, version


def test_a_route_whose_weights_are_all_zero_answers_503_instead_of_an_empty_split() -> None:
    outcome = from_front(
        routing, Request(host="colorteller.demo.local:9090", port=9090, scheme="https")
    )
    assert outcome.kind == "direct"
    assert outcome.status == 503


def test_a_router_port_selects_the_route_configuration_of_that_port() -> None:
    outcome = from_front(
        routing, Request(host="colorteller.demo.local:9090", port=9090, scheme="http")
    )
    assert outcome.kind == "no-route"


def test_a_node_provided_service_gets_one_route_with_the_default_retry_and_timeout() -> None:
    snapshot = build_snapshot(providers().view(), CLIENT)
    outcome = send(
        snapshot, EGRESS, Request(host="grpc.demo.local:50051", port=50051, path="/pkg.Svc/Call")
    )
    assert outcome.clusters == {"cds_egress_demo_grpc-server_grpc_50051": 100}
    assert outcome.timeout == "15s"
    assert outcome.retry is not None and outcome.retry["num_retries"] == 2


def test_tcp_services_are_routed_by_port_with_their_weights() -> None:
    snapshot = build_snapshot(providers().view(), CLIENT)
    cache = send(snapshot, EGRESS, Request(host="", port=6379))
    assert cache.clusters == {
        "cds_egress_demo_cache-a_tcp_6379": 80,
        "cds_egress_demo_cache-b_tcp_6379": 20,
    }
    assert cache.idle_timeout == "120s"
    database = send(snapshot, EGRESS, Request(host="", port=5432))
    assert database.clusters == {"cds_egress_demo_db_tcp_5432": 1}


def test_ingress_reaches_the_local_app_with_the_listener_timeouts() -> None:
    snapshot = build_snapshot(policies().view(), WHITE)
    outcome = send(snapshot, INGRESS, Request(host="anything", port=9080))
    assert outcome.clusters == {"cds_ingress_demo_colorteller-white_http_9080": 100}
    assert outcome.timeout == "45s"
    assert outcome.idle_timeout == "600s"
    assert outcome.retry is None
    default = send(snapshot, INGRESS, Request(host="anything", port=9090))
    assert default.timeout == "15s"


def test_ingress_has_no_chain_for_a_port_the_node_does_not_listen_on() -> None:
    snapshot = build_snapshot(seed().view(), WHITE)
    assert send(snapshot, INGRESS, Request(host="x", port=8080)).kind == "no-filter-chain"


def through_gateway(request: Request) -> tuple[Outcome, Outcome | None]:
    """The gateway's ingress route, then (after its rewrites) its egress route on 15001."""
    snapshot = build_snapshot(gateway().view(), GATEWAY)
    first = send(snapshot, names.listener(names.INGRESS, request.port), request)
    if first.kind != "route":
        return first, None
    path = request.path
    if first.prefix_rewrite is not None:
        prefixes = ("/color/", "/color", "/maroon/", "/rewrite/path/blue", "/")
        matched = next(p for p in prefixes if path.startswith(p))
        path = first.prefix_rewrite + path[len(matched) :]
    second = Request(
        host=first.host_rewrite or request.host,
        path=path,
        method=request.method,
        port=names.EGRESS_PORT,
        headers={**request.headers, **first.headers_added},
    )
    return first, send(snapshot, EGRESS, second)


def test_a_gateway_prefix_route_rewrites_host_and_prefix_then_splits_by_weight() -> None:
    first, second = through_gateway(Request(host="gw.example.com", path="/color/tell", port=8088))
    assert first.route_name == "color"
    assert first.clusters == {"cds_ingress_demo_ingress-gw_self_redirect_8088_http_15001": 100}
    assert (first.host_rewrite, first.prefix_rewrite) == ("colorteller.demo.local", "/")
    assert second is not None and second.clusters == {WHITE_9080: 50, BLACK_9080: 50}


def test_a_gateway_prefix_without_trailing_slash_also_matches_the_bare_prefix() -> None:
    first, _ = through_gateway(Request(host="gw.example.com", path="/color", port=8088))
    assert (first.route_name, first.prefix_rewrite) == ("color", "/")
    assert through_gateway(Request(host="gw", path="/colors", port=8088))[0].route_name == "color"


def test_a_gateway_hostname_match_without_host_rewrite_routes_by_header() -> None:
    first, second = through_gateway(Request(host="front.example.com", path="/x", port=8088))
    assert first.route_name == "front-host"
    assert first.host_rewrite is None
    assert first.headers_added == {"x-app-mesh-virtual-service": "front.demo.local"}
    assert second is not None and second.clusters == {"cds_egress_demo_front_http_9080": 100}


def test_a_gateway_hostname_vhost_hides_the_wildcard_routes_for_that_host() -> None:
    first, _ = through_gateway(Request(host="shop.example.org", path="/color/x", port=8088))
    assert first.kind == "no-route"
    canary = Request(
        host="shop.example.org", path="/x", method="POST", port=8088, headers={"x-canary": "1"}
    )
    assert through_gateway(canary)[0].route_name == "org-suffix"


def test_a_gateway_grpc_route_matches_the_service_on_its_own_listener() -> None:
    first, second = through_gateway(Request(host="gw", path="/pkg.Colors/Get", port=8089))
    assert first.host_rewrite == "grpc.demo.local"
    assert second is not None
    assert second.clusters == {"cds_egress_demo_grpc-server_grpc_50051": 100}
    assert (
        through_gateway(Request(host="gw", path="/other.Svc/Get", port=8089))[0].kind == "no-route"
    )
