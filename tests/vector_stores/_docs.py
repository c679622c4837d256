"""Small documents for the vector-store tests, in every format ingestion reads."""

from __future__ import annotations

import io

MANUAL = """X200 Coffee Grinder: User Manual

Warranty. The X200 comes with a three-year limited warranty covering parts and labour. The warranty
does not cover burrs worn by normal use. To claim it, contact support with your order number.

Cleaning. Unplug the grinder before cleaning. Brush the burrs weekly and never wash them with water.

Grind settings. Turn the dial clockwise for a finer grind: setting 1 suits espresso, setting 30 suits
cold brew. The default setting is 15.
"""

FAQ = """Frequently asked questions

Shipping. Orders ship within two business days from our warehouse in Lyon.

Returns. Unused products can be returned within 30 days for a full refund.
"""


def pdf(text: str) -> bytes:
    """A minimal valid PDF with ``text`` on one page (one line per text line)."""
    lines = text.splitlines() or [""]
    ops = ["BT", "/F1 10 Tf", "12 TL", "40 800 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


def docx(text: str) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Model"
    table.rows[0].cells[1].text = "X200"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx(text: str) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for paragraph in text.split("\n\n"):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = paragraph.split(".")[0]
        box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(4))
        box.text_frame.text = paragraph
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def html(text: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    head = "<style>p {color: red}</style><script>var secret = 1;</script>"
    return f"<html><head>{head}</head><body>{body}</body></html>".encode()


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these numbered objects (object 1 the catalog), with its cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
