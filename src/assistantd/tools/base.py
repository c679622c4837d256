"""The ``Tool`` seam: a tool the server runs itself, offered to the model as a function.

The engine offers each server tool enabled on the run (``run.tools`` has an entry of its ``type``) to
the model as a function named ``tool.name``. When the model calls it, the engine records a
``tool_calls`` run step and calls ``Tool.call``; the returned object is the step's tool call as the
Assistants API shows it (``{"id", "type": "code_interpreter", "code_interpreter": {...}}``), and the
engine takes another turn. ``replay`` turns a recorded call back into what the model sees in later
turns. ``annotate`` lets a tool add annotations and content parts to the assistant's final message
(file citations, ``sandbox:`` file paths, images).

What a tool needs later but the API does not show (the arguments a file_search call was made with, the
files a code_interpreter call wrote) goes under ``PRIVATE`` in the returned object: stored with the run
step, so any process can continue the run from the database, and never rendered (``public_call``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistantd.backends.base import FunctionSpec
from assistantd.store.blobs import BlobStore
from assistantd.store.db import Database
from assistantd.store.records import RunRecord

PRIVATE = "_private"
"""The key of a stored tool call's server-only data (a dict); ``public_call`` drops it."""


def public_call(call: dict[str, Any]) -> dict[str, Any]:
    """A stored tool call as the API shows it: without its ``PRIVATE`` data."""
    if PRIVATE not in call:
        return call
    return {k: v for k, v in call.items() if k != PRIVATE}


def private(call: dict[str, Any]) -> dict[str, Any]:
    """A stored tool call's ``PRIVATE`` data (empty for calls stored before it existed)."""
    data = call.get(PRIVATE)
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use while it runs one call."""

    run: RunRecord
    db: Database
    blobs: BlobStore
    emit_delta: Callable[[dict[str, Any]], None]
    """Publish a ``thread.run.step.delta`` for this call: pass the tool-call delta *without* ``index``
    (e.g. ``{"type": "code_interpreter", "code_interpreter": {"outputs": [...]}}``); the engine adds it."""
    include: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Annotated:
    """What ``annotate`` adds to the final assistant message."""

    annotations: list[dict[str, Any]] = field(default_factory=list)
    """``file_citation`` / ``file_path`` annotations on the message's first text part (indices into its
    ``value``, which the tool may rewrite through ``text``)."""
    text: str | None = None
    """The whole text with citation markers inserted (``file_search.annotate`` for a text cited after the
    fact). A streamed run ignores it: its text has already reached the client and is never rewritten, so a
    tool annotating a streamed answer only adds annotations and parts."""
    extra_parts: list[dict[str, Any]] = field(default_factory=list)
    """More content parts (``image_file``) to append after the text."""


class Tool(Protocol):
    type: str
    """The Assistants tool type this implements: ``"file_search"`` or ``"code_interpreter"``."""
    name: str
    """The function name the model sees."""

    def function(self, run_tool: dict[str, Any]) -> FunctionSpec:
        """How the tool is offered to the model (``run_tool`` is the run's tool entry, with its options)."""
        ...

    def started(self, call_id: str) -> dict[str, Any]:
        """The first step-delta body of a call, before it runs (e.g. ``{"type": "file_search", "file_search": {}}``)."""
        ...

    async def call(
        self, ctx: ToolContext, call_id: str, arguments: dict[str, Any], run_tool: dict[str, Any]
    ) -> dict[str, Any]:
        """Run one call; return the step's complete tool-call object. Failures the model should see (bad code,
        no results) are part of the returned output, not exceptions."""
        ...

    def replay(self, tool_call: dict[str, Any]) -> tuple[str, str]:
        """``(arguments_json, output_text)`` that show the model this recorded call in a later turn."""
        ...

    async def annotate(self, ctx: ToolContext, text: str, tool_calls: list[dict[str, Any]]) -> Annotated:
        """Annotations for the final answer, given the run's recorded calls of this tool."""
        ...
