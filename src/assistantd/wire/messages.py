"""Messages: request bodies. Responses are ``openai.types.beta.threads.Message``."""

from __future__ import annotations

from typing import Annotated, Literal

from openai.types.beta.threads import Message, MessageDeleted
from pydantic import Field

from assistantd.wire.common import Metadata, Request

__all__ = ["Message", "MessageCreate", "MessageDeleted", "MessageModify"]


class TextPart(Request):
    type: Literal["text"]
    text: str


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
    content: str | Annotated[list[ContentPart], Field(min_length=1)]
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None


class MessageModify(Request):
    # POST /v1/threads/{thread_id}/messages/{message_id}
    metadata: Metadata | None = None
