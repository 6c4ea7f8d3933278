"""Single App Mesh fields → Envoy fields, one mapping per test (reference/translation.md rows)."""

from __future__ import annotations

import pytest

from meshway.xds.translate.clusters import translate_health_check, translate_outlier_detection
from meshway.xds.translate.messages import duration, file_access_logs
from meshway.xds.translate.routes import DEFAULT_RETRY_POLICY, translate_retry_policy


def test_no_retry_policy_means_app_mesh_s_default_retry_policy() -> None:
    assert translate_retry_policy(None) is DEFAULT_RETRY_POLICY
    assert DEFAULT_RETRY_POLICY["num_retries"] == 2


def test_grpc_and_tcp_retry_events_become_retry_on_tokens_without_status_codes() -> None:
    policy = translate_retry_policy(
        {
            "maxRetries": 4,
            "perRetryTimeout": {"unit": "ms", "value": 250},
            "grpcRetryEvents": ["unavailable", "cancelled", "deadline-exceeded"],
            "tcpRetryEvents": ["connection-error"],
        }
    )
    assert policy["retry_on"] == "connect-failure,cancelled,deadline-exceeded,unavailable"
    assert policy["num_retries"] == 4
    assert policy["per_try_timeout"] == "0.250s"
    assert "retriable_status_codes" not in policy
    assert policy["retry_host_predicate"][0]["name"] == "envoy.retry_host_predicates.previous_hosts"


def test_client_error_retries_409_only() -> None:
    policy = translate_retry_policy(
        {
            "maxRetries": 1,
            "perRetryTimeout": {"unit": "s", "value": 1},
            "httpRetryEvents": ["client-error"],
        }
    )
    assert policy["retriable_status_codes"] == [409]
    assert policy["retry_on"] == "retriable-status-codes"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"unit": "s", "value": 15}, "15s"),
        ({"unit": "ms", "value": 1500}, "1.500s"),
        ({"unit": "ms", "value": 250}, "0.250s"),
        ({"unit": "s", "value": 0}, "0s"),
        (None, None),
    ],
)
def test_durations_convert_to_proto_json(
    value: dict[str, object] | None, expected: str | None
) -> None:
    assert duration(value) == expected  # type: ignore[arg-type]


def test_tcp_and_http2_health_checks() -> None:
    base = {
        "timeoutMillis": 2000,
        "intervalMillis": 5000,
        "healthyThreshold": 2,
        "unhealthyThreshold": 2,
    }
    tcp = translate_health_check({"healthCheck": {**base, "protocol": "tcp"}}, "db.local", 5432)
    assert tcp == {
        "timeout": "2s",
        "interval": "5s",
        "healthy_threshold": 2,
        "unhealthy_threshold": 2,
        "tcp_health_check": {},
    }
    h2 = translate_health_check(
        {"healthCheck": {**base, "protocol": "http2", "path": "/hc"}}, "x.local", 80
    )
    assert h2 is not None
    assert h2["http_health_check"] == {
        "host": "x.local:80",
        "path": "/hc",
        "codec_client_type": "HTTP2",
    }
    assert translate_health_check({}, "x", 1) is None


def test_outlier_detection_maps_its_four_fields() -> None:
    out = translate_outlier_detection(
        {
            "maxServerErrors": 3,
            "interval": {"unit": "ms", "value": 500},
            "baseEjectionDuration": {"unit": "s", "value": 10},
            "maxEjectionPercent": 100,
        }
    )
    assert out == {
        "consecutive_5xx": 3,
        "interval": "0.500s",
        "base_ejection_time": "10s",
        "max_ejection_percent": 100,
    }


def test_access_logs_keep_a_text_format_verbatim_and_default_without_one() -> None:
    text = file_access_logs(
        {"accessLog": {"file": {"path": "/tmp/a", "format": {"text": "%PROTOCOL%"}}}}
    )
    config = text[0]["typed_config"]
    assert config["log_format"] == {"text_format_source": {"inline_string": "%PROTOCOL%"}}
    plain = file_access_logs({"accessLog": {"file": {"path": "/tmp/a"}}})
    assert "log_format" not in plain[0]["typed_config"]
    assert file_access_logs(None) == []
