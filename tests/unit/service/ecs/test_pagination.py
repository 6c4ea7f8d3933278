"""Opaque nextTokens: pages never repeat or skip items, even when items change between pages."""

from __future__ import annotations

import pytest

from meshway.core.errors import InvalidParameterException
from meshway.service.ecs.base import paginate


def test_pages_walk_the_whole_list_once() -> None:
    items, seen, token = list(range(1, 8)), [], None
    while True:
        page, token = paginate(items, int, token, 3)
        seen += page
        if token is None:
            break
    assert seen == items


def test_a_removed_item_does_not_shift_the_next_page() -> None:
    page, token = paginate(["a", "b", "c", "d"], str, None, 2)
    assert page == ["a", "b"]
    rest, _ = paginate(["a", "c", "d"], str, token, 2)  # "b" went away meanwhile
    assert rest == ["c", "d"]


def test_descending_lists_resume_below_the_last_key() -> None:
    page, token = paginate([[5], [4], [3]], list, None, 2, descending=True)
    assert page == [[5], [4]]
    assert paginate([[5], [4], [3]], list, token, 2, descending=True)[0] == [[3]]


@pytest.mark.parametrize("token", ["not base64!", "e30=", "eyJhZnRlciI6IFsxXX0="])
def test_a_forged_token_is_an_invalid_parameter(token: str) -> None:
    with pytest.raises(InvalidParameterException):
        paginate(["a"], str, token, 10)


@pytest.mark.parametrize("limit", [0, 101])
def test_max_results_must_be_between_1_and_100(limit: int) -> None:
    with pytest.raises(InvalidParameterException):
        paginate(["a"], str, None, limit)
