"""Request bodies of the Conversations API (OpenAI's ``ConversationCreateParams`` and friends).

Items are the Responses API's input items, parsed by the same lenient models (``responses/_input.py``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from assistantd.responses._input import InputItem, Lenient
from assistantd.wire.common import Metadata, omit_null

MAX_ITEMS = 20
"""OpenAI's limit on the items of one create request."""


class ConversationCreate(Lenient):
    items: Annotated[list[InputItem], Field(max_length=MAX_ITEMS)] | None = None
    metadata: Metadata | None = None


class ConversationUpdate(Lenient):
    metadata: Metadata | None = Field(json_schema_extra=omit_null)


class ItemsCreate(Lenient):
    items: Annotated[list[InputItem], Field(min_length=1, max_length=MAX_ITEMS)]
