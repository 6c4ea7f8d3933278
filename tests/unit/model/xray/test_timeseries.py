"""Per-period statistics of a service or an edge, counted as the service graph counts them."""

from __future__ import annotations

import pytest

from meshway.model.xray.filters import FilterError, parse
from meshway.model.xray.timeseries import time_series
from tests.unit.model.xray.docs import seg, trace


def flights() -> list:  # type: ignore[type-arg]
    return [
        trace(seg(1, "front", start=100, end=101), seg(2, "back", parent=1, start=100, end=100.5)),
        trace(
            seg(1, "front", start=160, end=161, fault=True),
            seg(2, "back", parent=1, start=160, end=170),
        ),
    ]


def test_documents_count_in_the_period_their_end_falls_in() -> None:
    series = time_series(
        flights(), parse('service("back")'), account="1", start=60, end=240, period=60
    )
    assert [p["Timestamp"] for p in series] == [60, 120]
    assert [p["ServiceSummaryStatistics"]["TotalCount"] for p in series] == [1, 1]


def test_without_a_selector_every_services_own_requests_count() -> None:
    series = time_series(flights(), None, account="1", start=0, end=600, period=600)
    (only,) = series
    assert only["ServiceSummaryStatistics"]["TotalCount"] == 4
    assert only["ServiceSummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1


def test_an_edge_selector_gives_edge_statistics_and_anything_else_is_refused() -> None:
    series = time_series(
        flights(), parse('edge("front", "back")'), account="1", start=0, end=600, period=60
    )
    assert sum(p["EdgeSummaryStatistics"]["TotalCount"] for p in series) == 2
    with pytest.raises(FilterError):
        time_series(flights(), parse("fault"), account="1", start=0, end=600, period=60)
