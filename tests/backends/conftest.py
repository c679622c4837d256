"""Backend tests: the app's real ``OpenAICompatBackend`` against a fake upstream served on loopback.

``@pytest.mark.settings(upstream_timeout_seconds=0.3)`` changes ``Settings`` fields for one test's app.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistantd import Settings
from tests._serve import serve_in_thread
from tests.backends._fake_upstream import FakeUpstream


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**fields): Settings fields for this test's app")
    config.addinivalue_line("markers", "dialect(**fields): fields of the DialectUpstream stand-in (test_dialects.py)")


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def upstream_url(upstream: FakeUpstream) -> Iterator[str]:
    with serve_in_thread(upstream.app(), lifespan="off") as url:
        yield url + "/v1"


@pytest.fixture
def settings(settings: Settings, upstream_url: str, request: pytest.FixtureRequest) -> Settings:
    fields = {
        "upstream_base_url": upstream_url,
        "upstream_api_key": "sk-upstream",
        "upstream_max_retries": 2,
        "upstream_timeout_seconds": 5.0,
    }
    marker = request.node.get_closest_marker("settings")
    if marker:
        fields.update(marker.kwargs)
    return settings.model_copy(update=fields)
