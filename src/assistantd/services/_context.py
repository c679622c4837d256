"""What every service needs: the database, the blob store, the settings and a clock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from assistantd.settings import Settings
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database

WireObject = dict[str, Any]
"""The JSON of one OpenAI object, as sent on the wire."""


@dataclass(frozen=True)
class Context:
    db: Database
    blobs: BlobStore
    settings: Settings


def now() -> int:
    return int(time.time())
