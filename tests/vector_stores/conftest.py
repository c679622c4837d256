"""Vector-store tests: the app with the deterministic hashing embedder (the real model has its own tests).

``@pytest.mark.settings(embeddings="local")`` changes ``Settings`` fields for one test's app.
"""

from __future__ import annotations

import pytest

from assistantd import Settings


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    fields = {"embeddings": "hashing"}
    marker = request.node.get_closest_marker("settings")
    if marker:
        fields.update(marker.kwargs)
    return settings.model_copy(update=fields)
