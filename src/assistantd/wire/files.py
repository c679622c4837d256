"""Files: the upload form's values. Responses are ``openai.types.FileObject``."""

from __future__ import annotations

from typing import Literal, get_args

from openai.types import FileDeleted, FileObject

__all__ = ["UPLOAD_PURPOSES", "FileDeleted", "FileObject", "UploadPurpose"]

UploadPurpose = Literal["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
UPLOAD_PURPOSES: tuple[str, ...] = get_args(UploadPurpose)
