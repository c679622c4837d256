"""assistantd: OpenAI's Assistants API v2, self-hosted, on any OpenAI-compatible model.

The exports load on first use (PEP 562), so ``assistantd --version`` and a misconfigured ``assistantd
serve`` answer without importing the whole app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistantd.app import create_app
    from assistantd.retrieval.embedders import Embedder
    from assistantd.retrieval.index import SearchIndex
    from assistantd.settings import Settings
    from assistantd.store.blobs import BlobStore

__all__ = ["BlobStore", "Embedder", "SearchIndex", "Settings", "create_app"]

_HOMES = {
    "BlobStore": "assistantd.store.blobs",
    "Embedder": "assistantd.retrieval.embedders",
    "SearchIndex": "assistantd.retrieval.index",
    "Settings": "assistantd.settings",
    "create_app": "assistantd.app",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'assistantd' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
