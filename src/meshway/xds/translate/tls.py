"""TLS transport sockets: a listener's server side and a caller's client side.

Server (listener `tls`, rows 1.15-1.17): file certificates go in `tls_certificates`, SDS ones are
fetched from the bootstrap's `static_cluster_sds_unix_socket`; a `validation` makes it mutual TLS
(`require_client_certificate`, trusted CA, SANs). Client (`clientPolicy.tls`, rows 4.4.1-4.4.9):
trust from a file or SDS, SANs from the policy or else the target's service-discovery name, SNI
set to that name. A caller with no matching client policy still originates TLS, unvalidated, to a
target whose listener is STRICT or PERMISSIVE (row 4.4.8).

Not mapped: ACM certificates and ACM trust (Meshway has no ACM): a listener whose certificate is
from ACM is served without TLS, and ACM trust validates nothing.
"""

from __future__ import annotations

from typing import Any

from meshway.xds import names
from meshway.xds.translate.messages import DOWNSTREAM_TLS, UPSTREAM_TLS, Json, typed
from meshway.xds.view import Spec

SOCKET_NAME = "envoy.transport_sockets.tls"


def listener_tls_mode(listener: Spec) -> str:
    """STRICT, PERMISSIVE or DISABLED; a certificate Meshway cannot load counts as DISABLED."""
    tls = listener.get("tls") or {}
    certificate = _certificate(tls.get("certificate"))
    if not tls or certificate is None:
        return "DISABLED"
    return str(tls.get("mode") or "DISABLED")


def downstream_socket(listener: Spec) -> Json:
    tls = listener["tls"]
    common: Json = dict(_certificate(tls.get("certificate")) or {})
    context: Json = {"common_tls_context": common}
    validation = tls.get("validation")
    if validation:
        context["require_client_certificate"] = True
        common.update(_validation(validation, sans=_sans(validation)))
    return {"name": SOCKET_NAME, "typed_config": typed(DOWNSTREAM_TLS, context)}


def upstream_socket(policy_tls: Spec | None, discovery_name: str) -> Json:
    """`policy_tls` None: the target requires TLS but no client policy applies (row 4.4.8)."""
    common: Json = {}
    if policy_tls is not None:
        common.update(_certificate(policy_tls.get("certificate")) or {})
        validation = policy_tls.get("validation") or {}
        common.update(_validation(validation, sans=_sans(validation) or [discovery_name]))
    context: Json = {"common_tls_context": common, "sni": discovery_name}
    return {"name": SOCKET_NAME, "typed_config": typed(UPSTREAM_TLS, context)}


def client_policy_for(node_spec: Spec, service: str, port: int) -> Spec | None:
    """The enforced client TLS policy that covers `port` of a call to `service`: the backend's
    own, else backendDefaults (row 4.4.7)."""
    for backend in node_spec.get("backends") or ():
        virtual_service = backend.get("virtualService") or {}
        if virtual_service.get("virtualServiceName") == service:
            policy = (virtual_service.get("clientPolicy") or {}).get("tls")
            if policy is not None:
                return _enforced(policy, port)
    defaults = ((node_spec.get("backendDefaults") or {}).get("clientPolicy") or {}).get("tls")
    return _enforced(defaults, port) if defaults is not None else None


def _enforced(policy: Spec, port: int) -> Spec | None:
    ports = policy.get("ports") or ()
    if policy.get("enforce") is False or (ports and port not in ports):
        return None
    return policy


def _certificate(certificate: Spec | None) -> Json | None:
    if not certificate:
        return None
    if certificate.get("file"):
        file = certificate["file"]
        return {
            "tls_certificates": [
                {
                    "certificate_chain": {"filename": file["certificateChain"]},
                    "private_key": {"filename": file["privateKey"]},
                }
            ]
        }
    if certificate.get("sds"):
        return {"tls_certificate_sds_secret_configs": [_sds(certificate["sds"]["secretName"])]}
    return None  # acm: not available in Meshway


def _validation(validation: Spec, *, sans: list[str]) -> Json:
    trust = validation.get("trust") or {}
    context: Json = {}
    if sans:
        context["match_typed_subject_alt_names"] = [_san(san) for san in sans]
    if trust.get("file"):
        context["trusted_ca"] = {"filename": trust["file"]["certificateChain"]}
    elif trust.get("sds"):
        if not context:
            return {"validation_context_sds_secret_config": _sds(trust["sds"]["secretName"])}
        return {
            "combined_validation_context": {
                "default_validation_context": context,
                "validation_context_sds_secret_config": _sds(trust["sds"]["secretName"]),
            }
        }
    return {"validation_context": context} if context else {}


def _sans(validation: Spec) -> list[str]:
    match = (validation.get("subjectAlternativeNames") or {}).get("match") or {}
    return list(match.get("exact") or ())


def _san(san: str) -> Json:
    san_type = "URI" if "://" in san else "DNS"
    return {"san_type": san_type, "matcher": {"exact": san}}


def _sds(secret: str) -> Json:
    """An SDS secret from the local agent's socket (row 1.16; Envoy 1.40 needs V3)."""
    source: dict[str, Any] = {
        "api_type": "GRPC",
        "transport_api_version": "V3",
        "grpc_services": [{"envoy_grpc": {"cluster_name": names.SDS_CLUSTER}}],
    }
    return {
        "name": secret,
        "sds_config": {"resource_api_version": "V3", "api_config_source": source},
    }
