"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources_support import Canned, FakeAPI


@pytest.fixture
def hn_api() -> Iterator[str]:
    """A Hacker News search API on loopback that finds nothing: a source that polls fine."""
    api = FakeAPI()
    api.add(
        "GET",
        "/api/v1/search_by_date",
        Canned.json({"hits": [], "nbPages": 1, "page": 0, "hitsPerPage": 100}),
    )
    with api.serve() as base_url:
        yield base_url
