"""Text extraction for the formats OpenAI's file_search accepted, with well-kept libraries.

The text keeps the document's structure in plain-text form, so that chunks, keyword phrases and the
embedder see whole sentences and paragraphs:

* plain text, Markdown and source code: decoded as UTF-8, UTF-16/32 with a BOM, UTF-16 without one (told
  by its NUL bytes), else the charset ``charset_normalizer`` detects (Western text as cp1252);
* HTML (lxml's HTML parser): headings as ``## Heading`` lines, paragraphs separated by blank lines, list items
  and table rows (``cell | cell``) on their own lines, ``<pre>`` with its line breaks, inline elements
  kept inside their sentence; scripts, styles and hidden elements dropped, and navigation, headers,
  footers and asides too when the page has a ``<main>`` or ``<article>``; the ``<title>`` first when
  the body has no ``<h1>``;
* PDF (PDFium, through pypdfium2): page text with words hyphenated at line ends re-joined, the wrapped lines of a
  paragraph joined (paragraphs told by line spacing, short last lines, bullets and font size), ligatures
  and other compatibility characters normalised (NFKC), and running headers, footers and page numbers
  repeated on most pages dropped;
* JSON (and JSON Lines): validated, kept as text; DOCX: python-docx (paragraphs and tables); PPTX:
  python-pptx (slides, tables, notes), both after checking the ZIP's declared sizes (zip bombs).

A file we cannot read raises ``UnsupportedFile`` (a format we do not handle, or a PDF without a text
layer) or ``InvalidFile`` (a format we handle, but these bytes are not a valid one, are encrypted, are too
big, or hold no text); the worker reports them as the store file's ``last_error``. Whatever the parsing
libraries raise on corrupt input is translated here. ``check_blob`` refuses a file from its size and
first bytes, before it is read whole; ``extract_text`` refuses text over ``MAX_FILE_TOKENS``.
"""

from __future__ import annotations

import ctypes
import io
import itertools
import json
import math
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any


class ExtractError(Exception):
    code = "invalid_file"


class UnsupportedFile(ExtractError):
    code = "unsupported_file"


class InvalidFile(ExtractError):
    code = "invalid_file"


MAX_FILE_TOKENS = 5_000_000
"""OpenAI's limit on one file's extracted text, in tokens."""
HEAD_BYTES = 1 << 20
"""How much of a big file ``check_blob`` reads to estimate its text's size."""
MAX_MARKUP_BYTES = 32 << 20
"""Largest HTML file parsed (its element tree takes up to 20 times the page's size in memory)."""
MAX_ZIP_BYTES = 512 << 20
"""Most bytes a DOCX/PPTX may declare uncompressed in all (python-docx/pptx read every part whole)."""
MAX_XML_PART_BYTES = 64 << 20
"""Largest uncompressed XML part of a DOCX/PPTX (parsed whole by lxml)."""
MAX_ZIP_RATIO = 100
"""Compression ratio above which a big ZIP member (over 16 MiB uncompressed) is taken for a zip bomb."""
MAX_ZIP_MEMBERS = 10_000

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


JSON_SUFFIXES = frozenset({".json", ".jsonl"})
OFFICE_SUFFIXES = frozenset({".docx", ".pptx"})


def extract_text(data: bytes, filename: str) -> str:
    """The file's text, ready for chunking."""
    suffix = _suffix(filename)
    reader = _READERS.get(suffix)
    if reader is not None:
        text = reader(data)
    elif suffix in TEXT_SUFFIXES or suffix == "":
        text = _plain(data, strict=suffix == "")
    elif suffix in BINARY_SUFFIXES:
        raise _unsupported(suffix)
    else:
        text = _plain(data, strict=True)
    text = text.replace("\x00", "").strip()
    if not text:
        raise InvalidFile("The file contains no text that could be extracted.")
    _check_tokens(estimate_tokens(text))
    return text


def check_blob(size: int, head: bytes, filename: str) -> None:
    """Refuse a file from its size and its first bytes (``HEAD_BYTES`` of them, or all when it is smaller),
    before it is read whole: a type we do not read, HTML too big to parse, or text whose estimated size
    is over ``MAX_FILE_TOKENS``. A file that passes may still fail in ``extract_text``."""
    suffix = _suffix(filename)
    if suffix in BINARY_SUFFIXES:
        raise _unsupported(suffix)
    if suffix in HTML_SUFFIXES and size > MAX_MARKUP_BYTES:
        raise InvalidFile(
            f"The HTML file is {_mb(size)}; file_search parses HTML files of at most {_mb(MAX_MARKUP_BYTES)}."
        )
    textual = suffix in TEXT_SUFFIXES or suffix in HTML_SUFFIXES or suffix in JSON_SUFFIXES
    if not textual and suffix in _READERS:
        return
    # A cl100k token is at least one UTF-8 byte, and a character takes at most 1.5 times as many bytes in
    # UTF-8 as in UTF-16: smaller files cannot be over the limit.
    if size * 3 // 2 <= MAX_FILE_TOKENS or not head:
        return
    try:
        text = _html(head) if suffix in HTML_SUFFIXES else _plain(head, strict=not textual, partial=True)
    except ExtractError:
        if textual:
            return  # the whole file decides (its head may be cut inside a character or a tag)
        raise
    text = text.replace("\x00", "")
    _check_tokens(estimate_tokens(text) * size // len(head))


def estimate_tokens(text: str) -> int:
    """cl100k tokens in ``text``: counted when short, else extrapolated from 16 samples spread over it."""
    from assistantd.runs.tokens import encoding

    enc = encoding()
    if len(text) <= 1 << 18:
        return len(enc.encode_ordinary(text))
    width = 1 << 14
    step = (len(text) - width) // 15
    sample = [text[i * step : i * step + width] for i in range(16)]
    tokens = sum(len(enc.encode_ordinary(s)) for s in sample)
    return math.ceil(tokens * len(text) / (16 * width))


def _check_tokens(tokens: int) -> None:
    if tokens > MAX_FILE_TOKENS:
        raise InvalidFile(
            f"The file's text is about {tokens:,} tokens; file_search accepts at most "
            f"{MAX_FILE_TOKENS:,} tokens per file."
        )


def _suffix(filename: str) -> str:
    return PurePosixPath(filename.lower()).suffix


def _unsupported(suffix: str) -> UnsupportedFile:
    return UnsupportedFile(f"Files of type '{suffix}' are not supported by file_search.")


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"


# --- plain text ------------------------------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _plain(data: bytes, *, strict: bool = False, partial: bool = False) -> str:
    """Decode text. ``strict`` (unknown type): bytes that are not text are an unsupported file.
    ``partial``: ``data`` is a file's head, maybe cut inside a character."""
    errors = "ignore" if partial else "strict"
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, errors="ignore" if partial else "replace")
            break
    else:
        codec16 = _utf16_without_bom(data)
        if codec16 is not None:
            text = data.decode(codec16, errors="ignore" if partial else "replace")
        else:
            try:
                text = data.decode("utf-8", errors=errors)
            except UnicodeDecodeError as exc:
                text = _detected(data, strict) if exc.start < len(data) - 3 else data.decode("utf-8", "ignore")
    if "\x00" in text[:4096]:
        raise UnsupportedFile("The file is binary, not text.")
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark, told by its NUL bytes: mostly-ASCII text in UTF-16 has a NUL in
    every other byte, all at even offsets (big-endian) or all at odd ones (little-endian)."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0 : pairs * 2 : 2].count(0)
    odd = sample[1 : pairs * 2 : 2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.02:
        return "utf-16-le"
    if even >= pairs * 0.3 and odd <= pairs * 0.02:
        return "utf-16-be"
    return None


def _detected(data: bytes, strict: bool) -> str:
    """Not UTF-8: the charset charset_normalizer finds, preferring cp1252 (a superset of Latin-1) among its
    equally good answers (short Western text fits many single-byte code pages equally well)."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[: 1 << 20])
    best = matches.best()
    if best is None or best.encoding is None:
        error = UnsupportedFile if strict else InvalidFile
        raise error("The file is not text in any known encoding.")
    codec = best.encoding
    for match in matches:
        if (
            "cp1252" in match.could_be_from_charset
            and match.chaos <= best.chaos + 0.1
            and match.coherence >= best.coherence - 0.05
        ):
            codec = "cp1252"
            break
    return data.decode(codec, errors="replace")


# --- HTML --------------------------------------------------------------------------------------------------

_DROPPED = frozenset(
    ["script", "style", "noscript", "template", "head", "svg", "canvas", "iframe", "object", "embed",
     "select", "datalist", "textarea", "button", "map", "audio", "video", "picture", "source", "track"]
)  # fmt: skip
_BOILERPLATE = frozenset({"nav", "header", "footer", "aside"})
_BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = frozenset(
    ["address", "article", "aside", "blockquote", "body", "center", "details", "dialog", "dir", "div",
     "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html", "legend",
     "main", "menu", "nav", "ol", "p", "section", "summary", "ul", "caption", "option", "label", "dd",
     "tr", "td", "th", "table", "tbody", "thead", "tfoot"]
)  # fmt: skip
_LISTS = frozenset({"ul", "ol", "menu", "dir"})
_CELL_BLOCKS = ("table", "p", "div", "ul", "ol", "dl", "pre", "blockquote", *_HEADINGS)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


@dataclass(slots=True)
class _Block:
    kind: str
    """``heading``, ``para``, ``item``, ``term``, ``row`` or ``pre``."""
    text: str


class _HtmlText:
    """A page's text as blocks: the walk collects inline text and closes a block at each block element."""

    def __init__(self, skip: Callable[[Any], bool]) -> None:
        self.blocks: list[_Block] = []
        self.skip = skip
        self._inline: list[str] = []
        self._prefix = ""
        self._kind = "para"
        self._lists = 0

    def text(self) -> str:
        out: list[str] = []
        previous: _Block | None = None
        for block in self.blocks:
            if previous is not None:
                tight = previous.kind == block.kind and block.kind in ("item", "row")
                tight = tight or (previous.kind == "term" and block.kind != "heading")
                out.append("\n" if tight else "\n\n")
            out.append(block.text)
            previous = block
        return "".join(out)

    def flush(self) -> None:
        raw = "".join(self._inline)
        self._inline.clear()
        lines = [_SPACE.sub(" ", line).strip() for line in raw.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(_Block(self._kind, self._prefix + text))
        self._prefix, self._kind = "", "para"

    def _start(self, kind: str, prefix: str = "") -> None:
        self.flush()
        self._kind, self._prefix = kind, prefix

    def _add(self, text: str | None) -> None:
        if text:
            self._inline.append(text.replace("\n", " "))

    def walk(self, root: Any) -> None:
        """Walk ``root``'s subtree (not its tail), iteratively: pages may nest elements thousands deep."""
        from lxml import etree  # type: ignore[import-untyped]

        walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
        actions: list[str] = []
        for event, el in walker:
            if event in ("comment", "pi"):
                self._add(el.tail)
                continue
            if event == "end":
                action = actions.pop()
                if action == "block":
                    self.flush()
                elif action == "list":
                    self.flush()
                    self._lists -= 1
                if el is not root:
                    self._add(el.tail)
                continue
            tag = el.tag if isinstance(el.tag, str) else ""
            if not tag or tag in _DROPPED or (el is not root and (self.skip(el) or _hidden(el))):
                actions.append("skip")
                walker.skip_subtree()
                continue
            if tag == "br":
                self._inline.append("\n")
                actions.append("inline")
                continue
            if tag == "pre" or (tag == "table" and self._table(el)):
                if tag == "pre":
                    self._pre(el)
                actions.append("skip")
                walker.skip_subtree()
                continue
            if tag in _HEADINGS:
                self._start("heading", "#" * _HEADINGS[tag] + " ")
                actions.append("block")
            elif tag == "li":
                self._start("item", "  " * max(0, self._lists - 1) + "- ")
                actions.append("block")
            elif tag == "dt":
                self._start("term")
                actions.append("block")
            elif tag in _LISTS:
                self.flush()
                self._lists += 1
                actions.append("list")
            elif tag in _BLOCKS:
                self.flush()
                actions.append("block")
            else:
                actions.append("inline")  # its text joins the current block
            self._add(el.text)

    def _pre(self, node: Any) -> None:
        self.flush()
        lines = [line.rstrip() for line in node.text_content().expandtabs(8).split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            self.blocks.append(_Block("pre", "\n".join(lines)))

    def _table(self, table: Any) -> bool:
        """A data table as rows of ``cell | cell``; False for a layout table (cells holding blocks),
        which is walked like any container."""
        rows = [tr for tr in table.iter("tr") if next(tr.iterancestors("table"), None) is table]
        cells = [[c for c in tr if c.tag in ("td", "th")] for tr in rows]
        if any(next(cell.iter(*_CELL_BLOCKS), None) is not None for row in cells for cell in row):
            return False
        self.flush()
        caption = table.find("caption")
        if caption is not None:
            text = _SPACE.sub(" ", caption.text_content()).strip()
            if text:
                self.blocks.append(_Block("para", text))
        for row in cells:
            texts = [self._cell(cell) for cell in row]
            if any(texts):
                self.blocks.append(_Block("row", " | ".join(texts)))
        return True

    def _cell(self, cell: Any) -> str:
        inner = _HtmlText(self.skip)
        inner.walk(cell)
        inner.flush()
        return " ".join(b.text for b in inner.blocks).replace("\n", " ")


def _hidden(el: Any) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return style is not None and re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", style) is not None


def _boilerplate(el: Any) -> bool:
    """Navigation and asides anywhere; headers and footers outside the main text (an article's own header,
    with its title or byline, stays)."""
    role = el.get("role")
    if el.tag in ("nav", "aside") or role in ("navigation", "complementary", "search"):
        return True
    if el.tag not in _BOILERPLATE and role not in _BOILERPLATE_ROLES:
        return False
    return next(el.iterancestors("main", "article"), None) is None and not any(
        a.get("role") == "main" for a in el.iterancestors()
    )


def _html(data: bytes) -> str:
    import lxml.html  # type: ignore[import-untyped]
    from lxml import etree

    source = _CONTROL.sub("", _XML_DECLARATION.sub("", _plain(data), count=1))
    if not source.strip():
        return ""
    try:
        # huge_tree: libxml2 otherwise drops everything nested deeper than 255 elements.
        root = lxml.html.document_fromstring(source, parser=lxml.html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        return ""
    body = root.find("body")
    if body is None:
        body = root
    has_main = next(body.iter("main", "article"), None) is not None or bool(body.xpath(".//*[@role='main']"))
    walker = _HtmlText(_boilerplate if has_main else lambda el: False)
    walker.walk(body)
    walker.flush()
    text = walker.text()
    title_el = root.find(".//title")
    title = _SPACE.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    if title and not any(b.kind == "heading" and b.text.startswith("# ") for b in walker.blocks):
        text = f"# {title}\n\n{text}" if text else f"# {title}"
    return text


# --- JSON --------------------------------------------------------------------------------------------------


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


# --- PDF ---------------------------------------------------------------------------------------------------

MAX_PDF_CHARS = MAX_FILE_TOKENS * 8
"""Extraction stops once a PDF's pages hold this many characters (the file is refused as too big)."""


@dataclass(slots=True)
class _Line:
    text: str
    y: float | None
    size: float | None


SOFT_HYPHEN = "\u00ad"


def _pdf(data: bytes) -> str:
    import pypdfium2 as pdfium

    encrypted = InvalidFile(
        "The PDF is encrypted (it needs a password to open); file_search cannot read it. "
        "Upload a copy without the password."
    )
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise encrypted from exc
        raise InvalidFile(f"The PDF could not be read: {exc}.") from exc
    try:
        pages: list[list[_Line]] = []
        chars = 0
        for number in range(len(document)):
            lines = _page_lines(document[number])
            pages.append(lines)
            chars += sum(len(line.text) for line in lines)
            if chars > MAX_PDF_CHARS:
                _check_tokens(estimate_tokens("\n".join(line.text for p in pages for line in p)))
    except ExtractError:
        raise
    except Exception as exc:  # corrupt pages
        raise InvalidFile(f"The PDF could not be read: {exc}.") from exc
    finally:
        document.close()
    if not pages:
        raise InvalidFile("The PDF has no pages.")
    _drop_running_lines(pages)
    text = _pdf_paragraphs(pages)
    if not text.strip():
        raise UnsupportedFile(
            "The PDF has no text layer (its pages are images, e.g. a scan); file_search does not run OCR, "
            "so it cannot read it. Upload a PDF with text, or the text itself."
        )
    return text


def _page_lines(page: Any) -> list[_Line]:
    """The page's lines as PDFium lays them out (it tells kerning from word spaces, which pypdf does not
    in groff's PDFs), each with the baseline and font size of its first character."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count > 0 else ""
        lines: list[_Line] = []
        offset = 0
        for raw_line in text.split("\n"):
            # PDFium joins a word hyphenated at a line's end into one line, marking the cut with U+FFFE: cut
            # it there again (the paragraph joiner mends the word), so lines keep their printed lengths.
            start = 0
            for piece in raw_line.replace("\r", " ").split("\ufffe"):
                end = start + len(piece)
                hyphenated = end < len(raw_line)
                clean = _SPACE.sub(" ", _compat(piece)).strip() + (SOFT_HYPHEN if hyphenated else "")
                line = _Line(clean if clean != SOFT_HYPHEN else "", None, None)
                first = offset + start + (len(piece) - len(piece.lstrip()))
                if line.text and first < count:
                    x, y = ctypes.c_double(), ctypes.c_double()
                    pdfium_c.FPDFText_GetCharOrigin(textpage.raw, first, ctypes.byref(x), ctypes.byref(y))
                    line.y = y.value  # the baseline
                    line.size = float(pdfium_c.FPDFText_GetFontSize(textpage.raw, first)) or None
                lines.append(line)
                start = end + 1
            offset += len(raw_line) + 1
    finally:
        textpage.close()
        page.close()
    # Blank lines are kept (as paragraph breaks) but not runs of them, nor at the ends.
    kept: list[_Line] = []
    for line in lines:
        if line.text or (kept and kept[-1].text):
            kept.append(line)
    while kept and not kept[-1].text:
        kept.pop()
    return kept


_PDF_CHARS = {0x02DC: "~", 0x02C6: "^"}
"""Spacing accents that PDF fonts (groff's, TeX's) use for ASCII ``~`` and ``^``."""


def _compat(text: str) -> str:
    """NFKC for the characters that are compatibility forms (ligatures ﬁ ﬂ, full-width forms, ellipsis,
    odd spaces...), but not for spacing accents, which NFKC turns into a space and a combining mark."""
    table: dict[int, str] = {}
    for char in set(text):
        if ord(char) < 0xA0:
            continue
        if ord(char) in _PDF_CHARS:
            table[ord(char)] = _PDF_CHARS[ord(char)]
            continue
        normal = unicodedata.normalize("NFKC", char)
        if normal != char and not normal[:1].isspace():
            table[ord(char)] = normal
        elif normal[:1].isspace() and len(normal) == 1:
            table[ord(char)] = " "
    return unicodedata.normalize("NFC", text.translate(table)) if table else text


_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?(?:\d{1,5}|[ivxlcdm]{1,8})(?:\s*(?:/|of)\s*\d{1,5})?$|^[-–—]\s*\d{1,5}\s*[-–—]$", re.I
)
_ZONE = 2
"""Lines at the top and at the bottom of a page that may be running headers or footers."""


def _running_key(text: str) -> str:
    return "\0" + re.sub(r"\d+", "#", text.lower())


def _drop_running_lines(pages: list[list[_Line]]) -> None:
    """Remove page numbers, and running headers and footers: lines at a page's top or bottom that recur
    on at least 3 pages and 30% of them (numbers aside, for a page's first or last line), and a page's
    first or last line ending with the page's number (a number that follows the pages' order on as
    many pages: "Chapter 3: Utilities 7")."""
    counts: Counter[str] = Counter()
    offsets: Counter[int] = Counter()
    for number, lines in enumerate(pages):
        zone = list(_zone(lines))
        counts.update({line.text for line in zone} | {_running_key(line.text) for line in zone})
        offsets.update({n - number for line in zone if (n := _trailing_number(line.text)) is not None})
    threshold = max(3, math.ceil(len(pages) * 0.3))
    offset, seen = offsets.most_common(1)[0] if offsets else (0, 0)

    def running(line: _Line, number: int, extreme: bool) -> bool:
        if _PAGE_NUMBER.match(line.text) or counts[line.text] >= threshold:
            return True
        if extreme and counts[_running_key(line.text)] >= threshold:
            return True  # the same but for its numbers ("GNU Bash 5.2  2022 September 19  17")
        numbered = extreme and seen >= threshold and len(line.text) <= 100
        return numbered and _trailing_number(line.text) == number + offset

    for number, lines in enumerate(pages):
        edges = {id(line) for line in _zone(lines)}
        texts = [line for line in lines if line.text]
        extremes = {id(texts[0]), id(texts[-1])} if texts else set()
        lines[:] = [line for line in lines if id(line) not in edges or not running(line, number, id(line) in extremes)]


def _trailing_number(text: str) -> int | None:
    match = re.search(r"(?:^|\s)(\d{1,5})$", text)
    return int(match.group(1)) if match else None


def _zone(lines: list[_Line]) -> Iterator[_Line]:
    text = [line for line in lines if line.text]
    if len(text) <= 2 * _ZONE:
        yield from text
    else:
        yield from text[:_ZONE]
        yield from text[-_ZONE:]


_BULLET = re.compile(r"^(?:[•◦▪▫●○■□‣⁃∙·–—*]\s|\(?[0-9]{1,2}[.)]\s|\(?[a-z][.)]\s|\d+(?:\.\d+)+\s|-{1,2}[A-Za-z])")
"""A list item's first line: a bullet, a number or letter, a command-line option (manual pages)."""
_LEADERS = re.compile(r"(?:\.\s?){4,}\s*[0-9ivxlc]+$")
"""A table of contents' line: dot leaders and a page number."""
_SENTENCE_END = re.compile(r"[.!?:;]['\"’”)\]]*$")


def _pdf_paragraphs(pages: list[list[_Line]]) -> str:
    """Join the wrapped lines of each paragraph into one line; paragraphs apart by a blank line. A
    paragraph that runs on to the next page is joined across it."""
    paragraphs: list[str] = []
    carry = False
    for lines in pages:
        page_paragraphs = _page_paragraphs(lines)
        if not page_paragraphs:
            continue
        first = page_paragraphs[0]
        if carry and paragraphs and first[:1].islower():
            paragraphs[-1] = _join(paragraphs[-1], first)
            page_paragraphs = page_paragraphs[1:]
        paragraphs.extend(page_paragraphs)
        carry = bool(paragraphs) and not _SENTENCE_END.search(paragraphs[-1]) and len(lines) > 3
    return "\n\n".join(paragraphs)


def _page_paragraphs(lines: list[_Line]) -> list[str]:
    texts = [line for line in lines if line.text]
    if not texts:
        return []
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(texts)
        if a.y is not None and b.y is not None and a.size and 0 < a.y - b.y < 3 * a.size
    ]
    gap = statistics.median(gaps) if gaps else None
    lengths = sorted(len(line.text) for line in texts)
    full = lengths[int(len(lengths) * 0.8)] if len(lengths) >= 4 else lengths[-1]
    paragraphs: list[str] = []
    previous: _Line | None = None
    blank = False
    for line in lines:
        if not line.text:
            blank = True
            continue
        if previous is None or blank or _breaks(previous, line, gap, full):
            paragraphs.append(line.text)
        else:
            paragraphs[-1] = _join(paragraphs[-1], line.text)
        previous, blank = line, False
    return paragraphs


def _breaks(previous: _Line, line: _Line, gap: float | None, full: int) -> bool:
    """Whether ``line`` starts a new paragraph after ``previous``."""
    if _BULLET.match(line.text) or _LEADERS.search(previous.text):
        return True
    if previous.size and line.size and abs(previous.size - line.size) > 0.15 * max(previous.size, line.size):
        return True
    if previous.y is not None and line.y is not None:
        step = previous.y - line.y
        if step < -1 or (previous.size and step > 3 * previous.size):
            return True  # a new column, or a figure in between
        if gap is not None and step > gap * 1.3 + 0.5:
            return True
    return len(previous.text) < 0.7 * full and not previous.text.endswith(("-", SOFT_HYPHEN))


def _join(head: str, tail: str) -> str:
    if head.endswith(SOFT_HYPHEN):
        return head[:-1] + tail  # PDFium marks the hyphens its layout added: always a word cut in two
    if len(head) >= 2 and head.endswith("-") and head[-2].isalpha() and tail[:1].islower():
        return head[:-1] + tail  # a word hyphenated at the line's end
    return f"{head} {tail}"


# --- DOCX and PPTX -----------------------------------------------------------------------------------------


def _office_package(data: bytes, kind: str) -> io.BytesIO:
    """The bytes of a DOCX/PPTX, after checking its ZIP directory: python-docx and python-pptx unpack every
    part whole, so a zip bomb (a few kB declaring gigabytes) is refused before they see it. Python's
    zipfile never inflates a member past its declared size, so the declared sizes bound the memory."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidFile(
            f"The {kind} file is an OLE compound file: a password-protected document or a legacy "
            f"(.doc/.ppt) one renamed; file_search cannot read it."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidFile(f"The {kind} file could not be read: it is not a valid ZIP package ({exc}).") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise InvalidFile(f"The {kind} file holds {len(members):,} parts; at most {MAX_ZIP_MEMBERS:,} are read.")
    total = sum(m.file_size for m in members)
    if total > MAX_ZIP_BYTES:
        raise InvalidFile(
            f"The {kind} file would unpack to {_mb(total)}; file_search unpacks at most {_mb(MAX_ZIP_BYTES)} "
            f"(a zip bomb?)."
        )
    for m in members:
        if m.file_size > 16 << 20 and m.file_size > MAX_ZIP_RATIO * max(1, m.compress_size):
            raise InvalidFile(
                f"The {kind} file's part {m.filename} expands {m.file_size // max(1, m.compress_size):,} times "
                f"to {_mb(m.file_size)}, which looks like a zip bomb; file_search refuses it."
            )
        if m.file_size > MAX_XML_PART_BYTES and m.filename.lower().endswith((".xml", ".rels")):
            raise InvalidFile(
                f"The {kind} file's part {m.filename} is {_mb(m.file_size)} of XML; file_search reads parts of "
                f"at most {_mb(MAX_XML_PART_BYTES)}."
            )
    return io.BytesIO(data)


def _docx(data: bytes) -> str:
    import docx

    package = _office_package(data, "DOCX")
    try:
        document = docx.Document(package)
    except Exception as exc:
        raise InvalidFile(f"The DOCX file could not be read: {exc}.") from exc
    parts = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(parts)


def _pptx(data: bytes) -> str:
    from pptx import Presentation

    package = _office_package(data, "PPTX")
    try:
        deck = Presentation(package)
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
