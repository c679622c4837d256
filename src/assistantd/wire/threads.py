"""Threads: request bodies. Responses are ``openai.types.beta.Thread``."""

from __future__ import annotations

from openai.types.beta import Thread, ThreadDeleted

from assistantd.wire.common import Metadata, Request, ToolResources
from assistantd.wire.messages import MessageCreate

__all__ = ["Thread", "ThreadCreate", "ThreadDeleted", "ThreadModify"]


class ThreadCreate(Request):
    # POST /v1/threads
    messages: list[MessageCreate] | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None


class ThreadModify(Request):
    # POST /v1/threads/{thread_id}
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
