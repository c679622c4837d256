"""assistantd: OpenAI's Assistants API v2, self-hosted, on any OpenAI-compatible model."""

from assistantd.app import create_app
from assistantd.retrieval.embedders import Embedder
from assistantd.retrieval.index import SearchIndex
from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore

__all__ = ["BlobStore", "Embedder", "SearchIndex", "Settings", "create_app"]
