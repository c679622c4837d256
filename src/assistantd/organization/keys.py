"""Project API keys: made, digested and redacted in one place."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "sk-proj-"


def new_key() -> str:
    """A fresh project key: ``sk-proj-`` and 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    """What is stored of a key (and looked up by): its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def redacted(key: str) -> str:
    """The form lists show, as OpenAI's dashboard does: the prefix and the last four characters."""
    return f"{key[:8]}****{key[-4:]}"
