"""The ``encrypted_content`` of a compaction item this server made: opaque to clients, readable here.

It is the summary, zlib-compressed and base64url-encoded behind a version prefix. It is not encrypted: it
carries nothing the client did not send or could not read in the conversation itself. Another server's
compaction (OpenAI's really is encrypted) is not readable: it stays a foreign item, never shown to the model.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

PREFIX = "asd1."
MAX_SUMMARY_BYTES = 1_048_576
"""Most bytes a summary may decode to (a crafted item cannot make the server inflate gigabytes)."""


def encode(summary: str) -> str:
    raw = zlib.compress(json.dumps({"summary": summary}, ensure_ascii=False).encode())
    return PREFIX + base64.urlsafe_b64encode(raw).decode()


def summary_of(content: str) -> str | None:
    """The summary inside ``content``, or None when this server did not make it."""
    if not content.startswith(PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(content[len(PREFIX) :].encode())
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_SUMMARY_BYTES)
        if inflater.unconsumed_tail:
            return None
        summary = json.loads(data).get("summary")
    except (binascii.Error, ValueError, zlib.error, AttributeError):
        return None
    return summary if isinstance(summary, str) else None
