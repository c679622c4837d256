"""Messages: request bodies. Responses are ``openai.types.beta.threads.Message``."""

from __future__ import annotations

from typing import Annotated, Literal

from openai.types.beta.threads import Message, MessageDeleted
from pydantic import AfterValidator, Field

from assistantd.wire._limits import MAX_MESSAGE_CHARS, openai_error
from assistantd.wire.common import Metadata, Request

__all__ = ["Message", "MessageCreate", "MessageDeleted", "MessageModify"]


MessageText = Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)]
"""At most 256,000 characters, as OpenAI; the length constraint also makes pydantic-core reject lone surrogates."""


class TextPart(Request):
    type: Literal["text"]
    text: MessageText


class ImageFile(Request):
    file_id: Annotated[str, Field(min_length=1)]
    detail: Literal["auto", "low", "high"] | None = None


class ImageFilePart(Request):
    type: Literal["image_file"]
    image_file: ImageFile


class ImageUrl(Request):
    url: Annotated[str, Field(min_length=1)]
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrlPart(Request):
    type: Literal["image_url"]
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart, Field(discriminator="type")]


def _within_limit(parts: list[ContentPart]) -> list[ContentPart]:
    """Text parts share the message's 256,000 characters."""
    total = sum(len(p.text) for p in parts if isinstance(p, TextPart))
    if total > MAX_MESSAGE_CHARS:
        raise openai_error(
            "Invalid '{param}': string too long. Expected the text parts to hold at most "
            f"{MAX_MESSAGE_CHARS} characters in all, but got {total} characters instead."
        )
    return parts


class CodeInterpreterAttachmentTool(Request):
    type: Literal["code_interpreter"]


class FileSearchAttachmentTool(Request):
    type: Literal["file_search"]


AttachmentTool = Annotated[CodeInterpreterAttachmentTool | FileSearchAttachmentTool, Field(discriminator="type")]


class Attachment(Request):
    file_id: Annotated[str, Field(min_length=1)]
    tools: list[AttachmentTool] | None = None


class MessageCreate(Request):
    # POST /v1/threads/{thread_id}/messages
    role: Literal["user", "assistant"]
    content: MessageText | Annotated[list[ContentPart], Field(min_length=1), AfterValidator(_within_limit)]
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None


class MessageModify(Request):
    # POST /v1/threads/{thread_id}/messages/{message_id}
    metadata: Metadata | None = None
