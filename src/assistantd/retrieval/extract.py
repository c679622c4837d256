"""Text extraction for the formats OpenAI's file_search accepted, with well-kept libraries.

* plain text, Markdown and source code: decoded (UTF-8, UTF-16 with a BOM, else the detected charset);
* HTML: BeautifulSoup, without scripts and styles; JSON (and JSON Lines): validated, kept as text;
* PDF: pypdf; DOCX: python-docx (paragraphs and tables); PPTX: python-pptx (slides, tables, notes).

A file we cannot read raises ``UnsupportedFile`` (a format we do not handle) or ``InvalidFile`` (a format we
handle, but these bytes are not a valid one, or hold no text); the worker reports them as the store
file's ``last_error``. Whatever the parsing libraries raise on corrupt input is translated here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import PurePosixPath


class ExtractError(Exception):
    code = "invalid_file"


class UnsupportedFile(ExtractError):
    code = "unsupported_file"


class InvalidFile(ExtractError):
    code = "invalid_file"


TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".md",
        ".markdown",
        ".rst",
        ".tex",
        ".csv",
        ".tsv",
        ".log",
        ".ini",
        ".cfg",
        ".conf",
        ".toml",
        ".yaml",
        ".yml",
        ".xml",
        ".sql",
        ".env",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".cxx",
        ".hpp",
        ".hh",
        ".cs",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".swift",
        ".rs",
        ".zig",
        ".py",
        ".pyi",
        ".rb",
        ".php",
        ".pl",
        ".pm",
        ".lua",
        ".r",
        ".jl",
        ".dart",
        ".m",
        ".mm",
        ".sh",
        ".bash",
        ".zsh",
        ".fish",
        ".ps1",
        ".bat",
        ".js",
        ".mjs",
        ".cjs",
        ".jsx",
        ".ts",
        ".tsx",
        ".vue",
        ".svelte",
        ".css",
        ".scss",
        ".sass",
        ".less",
        ".graphql",
        ".proto",
        ".gradle",
        ".cmake",
        ".mk",
        ".dockerfile",
        ".tf",
        ".hcl",
        ".ex",
        ".exs",
        ".erl",
        ".hs",
        ".ml",
        ".clj",
        ".elm",
    ]
)
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
BINARY_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".bmp",
        ".tiff",
        ".ico",
        ".svgz",
        ".mp3",
        ".wav",
        ".ogg",
        ".flac",
        ".mp4",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".rar",
        ".tar",
        ".exe",
        ".dll",
        ".so",
        ".dylib",
        ".bin",
        ".iso",
        ".dmg",
        ".class",
        ".jar",
        ".pyc",
        ".o",
        ".a",
        ".wasm",
        ".sqlite",
        ".db",
        ".xls",
        ".xlsx",
        ".doc",
        ".ppt",
        ".odt",
        ".ods",
        ".odp",
        ".epub",
        ".psd",
        ".ttf",
        ".otf",
        ".woff",
        ".woff2",
    ]
)


def extract_text(data: bytes, filename: str) -> str:
    """The file's text, ready for chunking."""
    suffix = PurePosixPath(filename.lower()).suffix
    reader = _READERS.get(suffix)
    if reader is not None:
        text = reader(data)
    elif suffix in TEXT_SUFFIXES or suffix == "":
        text = _plain(data, strict=suffix == "")
    elif suffix in BINARY_SUFFIXES:
        raise UnsupportedFile(f"Files of type '{suffix}' are not supported by file_search.")
    else:
        text = _plain(data, strict=True)
    text = text.replace("\x00", "").strip()
    if not text:
        raise InvalidFile("The file contains no text that could be extracted.")
    return text


def _plain(data: bytes, *, strict: bool = False) -> str:
    """Decode text. ``strict`` (unknown type): bytes that are not text are an unsupported file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _detected(data, strict)
    if "\x00" in text[:4096]:
        raise UnsupportedFile("The file is binary, not text.")
    return text


def _detected(data: bytes, strict: bool) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None or best.encoding is None:
        error = UnsupportedFile if strict else InvalidFile
        raise error("The file is not text in any known encoding.")
    return data.decode(best.encoding, errors="replace")


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_plain(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _json(data: bytes) -> str:
    text = _plain(data)
    try:
        json.loads(text)
    except ValueError:
        try:
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        except ValueError as exc:
            raise InvalidFile(f"The file is not valid JSON: {exc}.") from exc
    return text


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidFile("The PDF is encrypted.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractError:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt input
        raise InvalidFile(f"The PDF could not be read: {exc}.") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _docx(data: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise InvalidFile(f"The DOCX file could not be read: {exc}.") from exc
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(parts)


def _pptx(data: bytes) -> str:
    from pptx import Presentation

    try:
        deck = Presentation(io.BytesIO(data))
    except Exception as exc:
        raise InvalidFile(f"The PPTX file could not be read: {exc}.") from exc
    slides = []
    for number, slide in enumerate(deck.slides, start=1):
        texts = [f"Slide {number}"]
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                texts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    texts.append(" | ".join(cell.text.strip() for cell in row.cells))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                texts.append(notes)
        slides.append("\n".join(texts))
    return "\n\n".join(slides)


_READERS: dict[str, Callable[[bytes], str]] = {
    ".pdf": _pdf,
    ".docx": _docx,
    ".pptx": _pptx,
    ".json": _json,
    ".jsonl": _json,
    **dict.fromkeys(HTML_SUFFIXES, _html),
}
