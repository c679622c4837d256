"""Object IDs with OpenAI's prefixes, generated in one place.

IDs are random (not time-ordered); lists are ordered by each table's insertion sequence instead.
"""

from __future__ import annotations

import secrets
import string
from typing import Literal

_ALPHABET = string.ascii_letters + string.digits

Kind = Literal[
    "assistant",
    "thread",
    "message",
    "run",
    "step",
    "call",
    "file",
    "vector_store",
    "file_batch",
    "container",
    "container_file",
    "response",
    "conversation",
    "prompt",
    "project",
    "service_account",
    "api_key",
]

PREFIXES: dict[Kind, str] = {
    "assistant": "asst_",
    "thread": "thread_",
    "message": "msg_",
    "run": "run_",
    "step": "step_",
    "call": "call_",
    "file": "file-",
    "vector_store": "vs_",
    "file_batch": "vsfb_",
    "container": "cntr_",
    "container_file": "cfile_",
    "response": "resp_",
    "conversation": "conv_",
    "prompt": "pmpt_",
    "project": "proj_",
    "service_account": "svc_acct_",
    "api_key": "key_",
}


def new_id(kind: Kind) -> str:
    """The prefix and 24 random base-62 characters (~143 bits), drawn from the OS's CSPRNG."""
    n = int.from_bytes(secrets.token_bytes(18))
    chars = []
    for _ in range(24):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return PREFIXES[kind] + "".join(chars)


def has_prefix(kind: Kind, value: str) -> bool:
    return value.startswith(PREFIXES[kind]) and len(value) > len(PREFIXES[kind])


# What OpenAI's error message says an ID must begin with ("Expected an ID that begins with 'thread'").
EXPECTED_BEGINNING: dict[Kind, str] = {k: v.rstrip("_-") for k, v in PREFIXES.items()}
