"""Import tests: the app with the deterministic hashing embedder, so imported vector stores ingest fast."""

from __future__ import annotations

import pytest

from assistantd import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"embeddings": "hashing"})
