"""The test suite needs nothing beside the repository: a clean clone passes on its own."""

from __future__ import annotations

import re
from pathlib import Path

from tests import _schema

ROOT = Path(__file__).resolve().parents[1]
_OUTSIDE = re.compile(r"\.\./shared|\"shared\"\s*/\s*\"spec\"")


def test_the_openapi_schemas_are_vendored_inside_the_repository() -> None:
    assert _schema.SPEC.is_relative_to(ROOT)
    assert _schema.SPEC.is_file()
    _schema.assert_schema({"id": "asst_1", "object": "assistant.deleted", "deleted": True}, "DeleteAssistantResponse")


def test_no_source_test_or_doc_reads_a_path_outside_the_repository() -> None:
    offenders = []
    for folder in ("src", "tests", "docs", "scripts"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".toml", ""} or not path.is_file() or path == Path(__file__):
                continue
            text = path.read_text(errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in _OUTSIDE.finditer(text)]
    assert offenders == []
