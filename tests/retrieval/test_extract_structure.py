"""The structure extraction keeps: HTML blocks, inline runs, PDF paragraphs, running headers, encodings."""

from __future__ import annotations

import pytest

from assistantd.retrieval.extract import InvalidFile, check_blob, extract_text
from tests.vector_stores._docs import pdf_file


def pdf_pages(pages: list[list[tuple[float, str]]]) -> bytes:
    """A PDF whose pages hold lines of Helvetica 10 at the given heights (points from the bottom)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 10 Tf"]
        for y, text in lines:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"1 0 0 1 72 {y} Tm ({escaped}) Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        page_number = len(objects) + 1
        kids.append(page_number)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 1000 0 R >> >> >>" % (page_number + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    font = len(objects) + 1
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects = [o.replace(b"1000 0 R", b"%d 0 R" % font) for o in objects]
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    return pdf_file(objects)


SEASONS = ["", "spring", "summer", "autumn", "winter"]


def manual_page(number: int) -> list[tuple[float, str]]:
    return [
        (800, "GRINDER(1)        User Manual        GRINDER(1)"),
        (760, f"Section {number}"),
        (740, "Turn the dial clockwise for a finer grind and counter-"),
        (728, "clockwise for a coarser one; the burrs turn more slowly"),
        (716, "when the grind is fine."),
        (696, "Brush the burrs weekly and never wash them with water,"),
        (684, f"whatever the season and whatever the coffee you grind in {SEASONS[number]}."),
        (40, str(number)),
    ]


def test_pdf_paragraphs_hyphenation_and_running_lines() -> None:
    text = extract_text(pdf_pages([manual_page(n) for n in range(1, 5)]), "manual.pdf")
    assert "GRINDER(1)" not in text
    paragraphs = text.split("\n\n")
    assert paragraphs[:3] == [
        "Section 1",
        "Turn the dial clockwise for a finer grind and counterclockwise for a coarser one; the burrs turn more "
        "slowly when the grind is fine.",
        "Brush the burrs weekly and never wash them with water, whatever the season and whatever the coffee you "
        "grind in spring.",
    ]
    assert len(paragraphs) == 12 and not any(p.strip().isdigit() for p in paragraphs)


def test_html_structure() -> None:
    page = b"""<html><head><title>Grinder guide</title><style>p{}</style></head><body>
    <nav><a href="/">Home</a></nav><main>
    <h2>Grind <em>settings</em></h2>
    <p>Turn the <a href="#d">dial</a> clockwise for a <code>finer</code> grind.<br>Then wait.</p>
    <ul><li>Espresso: <b>1</b></li><li>Cold brew<ul><li>coarse</li></ul></li></ul>
    <table><tr><th>Setting</th><th>Use</th></tr><tr><td>1</td><td>Espresso <i>shot</i></td></tr></table>
    <pre>
first line
    indented
</pre><!-- a comment --><p>Last&nbsp;words</p></main><footer>Copyright</footer></body></html>"""
    assert extract_text(page, "guide.html") == (
        "# Grinder guide\n\n## Grind settings\n\nTurn the dial clockwise for a finer grind.\nThen wait.\n\n"
        "- Espresso: 1\n- Cold brew\n  - coarse\n\nSetting | Use\n1 | Espresso shot\n\n"
        "first line\n    indented\n\nLast words"
    )


def test_html_without_main_keeps_its_header_and_footer() -> None:
    page = b"<html><body><header>Grinder X200</header><p>Body text.</p><footer>Support: call us</footer></body>"
    assert extract_text(page, "p.htm") == "Grinder X200\n\nBody text.\n\nSupport: call us"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16", "latin-1", "cp1252", "utf-8-sig"])
def test_encodings(codec: str) -> None:
    text = "Nettoyez les meules chaque semaine, été comme hiver – même à Noël."
    if codec == "latin-1":
        text = text.replace("–", "-")
    assert extract_text(text.encode(codec), "notice.txt") == text


def test_check_blob_estimates_from_the_head() -> None:
    head = b"The grinder's burrs are brushed weekly. " * 30_000
    check_blob(len(head) * 3, head, "a.txt")  # ~3.6 MB: fine
    with pytest.raises(InvalidFile, match="5,000,000 tokens"):
        check_blob(500 << 20, head, "a.txt")
    check_blob(500 << 20, head, "a.pdf")  # a PDF's text is not its size
