"""Bad input through the official client: each bad file ends ``failed`` with a clear ``last_error``, the
other files of its batch are ingested, and the server never holds a huge file whole."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import openai
import pytest

from tests._support import make_file
from tests.vector_stores import _docs
from tests.vector_stores._docs import MANUAL


def image_only_pdf() -> bytes:
    """A one-page PDF that draws an image and has no text at all (what a scanner makes)."""
    pixels = bytes([200, 30, 30] * 4)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
        b"<< /Length 34 >>\nstream\nq 500 0 0 700 50 70 cm /Im1 Do Q\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8 "
        b"/Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream",
    ]
    return _docs.pdf_file(objects)


def encrypted_pdf(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_docs.pdf(MANUAL))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb(kind: str) -> bytes:
    """A few hundred kB that declare 200 MB of XML: the main part of a DOCX/PPTX, all zeros."""
    main = "word/document.xml" if kind == "docx" else "ppt/presentation.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with package.open(main, "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(200):
                member.write(block)
    return out.getvalue()


async def ingest_with_a_good_file(client: openai.AsyncOpenAI, name: str, content: bytes) -> tuple[str, str]:
    """Attach ``content`` and a good manual in one batch; returns (store id, bad file id) once both are done,
    checking the good one completed and is the only one found."""
    good = await make_file(client, MANUAL.encode(), "manual.txt")
    bad = await make_file(client, content, name)
    batch = await client.vector_stores.file_batches.create_and_poll(
        vector_store_id=(await client.vector_stores.create()).id, file_ids=[good.id, bad.id]
    )
    assert batch.file_counts.in_progress == 0 and batch.file_counts.completed >= 1
    ok = await client.vector_stores.files.retrieve(good.id, vector_store_id=batch.vector_store_id)
    assert ok.status == "completed"
    page = await client.vector_stores.search(batch.vector_store_id, query="three-year warranty")
    assert good.id in {d.file_id for d in page.data}
    return batch.vector_store_id, bad.id


async def assert_fails(client: openai.AsyncOpenAI, name: str, content: bytes, code: str, *words: str) -> str:
    store_id, file_id = await ingest_with_a_good_file(client, name, content)
    f = await client.vector_stores.files.retrieve(file_id, vector_store_id=store_id)
    assert f.status == "failed" and f.last_error is not None, f
    assert f.last_error.code == code, f.last_error
    for word in words:
        assert word.lower() in f.last_error.message.lower(), f.last_error.message
    page = await client.vector_stores.search(store_id, query="warranty")
    assert file_id not in {d.file_id for d in page.data}
    return f.last_error.message


async def test_pdf_without_a_text_layer(client: openai.AsyncOpenAI) -> None:
    await assert_fails(client, "scan.pdf", image_only_pdf(), "unsupported_file", "no text layer", "OCR")


async def test_encrypted_pdf(client: openai.AsyncOpenAI) -> None:
    await assert_fails(client, "locked.pdf", encrypted_pdf("secret"), "invalid_file", "The PDF is encrypted")


async def test_pdf_with_an_owner_password_only_is_read(client: openai.AsyncOpenAI) -> None:
    """Encrypted, but it opens with the empty user password (permissions only): it is read."""
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("perms.pdf", encrypted_pdf(""))
    )
    assert f.status == "completed", f.last_error
    page = await client.vector_stores.search(store.id, query="three-year warranty")
    assert page.data and "warranty" in page.data[0].content[0].text


@pytest.mark.parametrize("kind", ["docx", "pptx"])
async def test_zip_bomb_disguised_as_office_file(client: openai.AsyncOpenAI, kind: str) -> None:
    bomb = zip_bomb(kind)
    assert len(bomb) < 1 << 20
    await assert_fails(client, f"report.{kind}", bomb, "invalid_file", "zip bomb")


async def test_huge_text_file_is_refused_without_being_read_whole(client: openai.AsyncOpenAI) -> None:
    """60 MB of prose is ~14M tokens, over the 5M-token limit: refused from its first megabyte, the
    server never holding the file (let alone a 60-million-character string) in memory."""
    line = b"The grinder's burrs are brushed weekly; never wash them with water or oil them. "
    content = line * (60_000_000 // len(line))
    good = await make_file(client, MANUAL.encode(), "manual.txt")
    bad = await make_file(client, content, "huge.txt")
    del content
    store = await client.vector_stores.create()
    tracemalloc.start()
    try:
        batch = await client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[good.id, bad.id]
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert batch.file_counts.completed == 1 and batch.file_counts.failed == 1
    f = await client.vector_stores.files.retrieve(bad.id, vector_store_id=store.id)
    assert f.last_error is not None and f.last_error.code == "invalid_file"
    assert "5,000,000 tokens" in f.last_error.message, f.last_error.message
    assert peak < 30_000_000, f"ingestion peaked at {peak:,} bytes of Python memory"


async def test_html_too_big_to_parse(client: openai.AsyncOpenAI) -> None:
    content = b"<html><body><p>" + b"<b>x</b> " * ((34 << 20) // 9) + b"</p></body></html>"
    await assert_fails(client, "huge.html", content, "invalid_file", "HTML", "MiB")


async def test_html_that_is_almost_all_script(client: openai.AsyncOpenAI) -> None:
    script = "<script>" + "var telemetry = 'beacon';\n" * 40_000 + "</script>"
    page = f"<html><head>{script}</head><body>{script}<p>Descale the grinder monthly.</p>{script}</body></html>"
    assert len(page) > 99 * 30
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=("app.html", page.encode()))
    assert f.status == "completed", f.last_error
    found = await client.vector_stores.search(store.id, query="descale monthly")
    assert found.data and found.data[0].content[0].text == "Descale the grinder monthly."
    content = await client.vector_stores.files.content(f.id, vector_store_id=store.id)
    assert content.data[0].text == "Descale the grinder monthly."


async def test_html_with_only_script_has_no_text(client: openai.AsyncOpenAI) -> None:
    page = b"<html><head><title> </title></head><body><script>document.write('hi')</script></body></html>"
    await assert_fails(client, "blank.html", page, "invalid_file", "no text")


FRENCH = "Le moulin X200 est garanti trois ans. Nettoyez les meules chaque semaine, été comme hiver.\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notice-utf16le.txt", FRENCH.encode("utf-16-le")),
        ("notice-utf16be.txt", FRENCH.encode("utf-16-be")),
        ("notice-latin1.txt", FRENCH.encode("latin-1")),
        ("notice-cp1252.md", ("« " + FRENCH + " » – 5 €").encode("cp1252")),
        ("notice-latin1.html", f"<p>{FRENCH}</p>".encode("latin-1")),
    ],
)
async def test_legacy_encodings_are_searchable_by_a_non_ascii_word(
    client: openai.AsyncOpenAI, name: str, content: bytes
) -> None:
    store = await client.vector_stores.create()
    f = await client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=(name, content))
    assert f.status == "completed", f.last_error
    page = await client.vector_stores.search(store.id, query="été")
    assert page.data and page.data[0].file_id == f.id
    assert "été comme hiver" in page.data[0].content[0].text
    text = (await client.vector_stores.files.content(f.id, vector_store_id=store.id)).data[0].text or ""
    assert "\x00" not in text and "garanti trois ans" in text
    if name.endswith(".md"):
        assert text.startswith("« ") and text.endswith("– 5 €")
