import io

import pytest
from django.test import override_settings

from eduai.documents import DocumentError, extract_text, extraction, text_clean

from .files import docx_bytes, pdf_bytes


def test_plain_text_in_utf8_gb18030_and_utf16() -> None:
    assert extract_text(filename="a.txt", data=b"Photosynthesis\r\nuses light.") == (
        "Photosynthesis\nuses light."
    )
    assert extract_text(filename="a.txt", data="光合作用需要光。".encode("gb18030")) == "光合作用需要光。"
    assert extract_text(filename="a.md", data="# Cells\n\ntext".encode("utf-16")) == "# Cells\n\ntext"


def test_markdown_keeps_headings_and_collapses_blank_lines() -> None:
    text = extract_text(filename="notes.MD", data=b"# Title\n\n\n\n\nBody  \nmore")
    assert text == "# Title\n\nBody\nmore"


def test_html_gives_visible_text_with_markdown_headings() -> None:
    html = (
        "<html><head><title>x</title><style>p{}</style></head><body>"
        "<h1>Cells</h1><p>A cell is the <b>unit</b> of life.</p><script>alert(1)</script>"
        "<h2>Parts</h2><ul><li>nucleus</li><li>membrane</li></ul></body></html>"
    )
    text = extract_text(filename="page.html", data=html.encode())
    assert text.splitlines()[0] == "# Cells"
    assert "A cell is the unit of life." in text
    assert "## Parts" in text
    assert "- nucleus" in text
    assert "- membrane" in text
    assert "alert" not in text
    assert "p{}" not in text


def test_docx_paragraphs_and_heading_styles() -> None:
    data = docx_bytes([("Title", "Cells"), ("Heading2", "Parts"), ("", "The nucleus holds DNA.")])
    assert extract_text(filename="unit.docx", data=data) == "# Cells\n\n## Parts\n\nThe nucleus holds DNA."


def test_pdf_text_layer_of_every_page() -> None:
    text = extract_text(filename="unit.pdf", data=pdf_bytes("Page one (intro)", "Page two"))
    assert "Page one (intro)" in text
    assert "Page two" in text
    assert text.index("Page one") < text.index("Page two")


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("essay.exe", b"MZ", "not a supported file type"),
        ("essay.txt", b"", "is empty"),
        ("essay.txt", b"   \n\t ", "contains no text"),
        ("essay.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary data"),
        ("essay.txt", bytes(range(128, 256)) * 4, "known encoding"),
        ("essay.pdf", b"this is not a pdf", "not a PDF"),
        ("essay.pdf", b"%PDF-1.4\n1 0 obj garbage", "damaged"),
        ("essay.docx", b"PK\x03\x04 not really a zip", "damaged or is not a Word document"),
        ("essay.docx", docx_bytes([("", "x")])[:-40], "damaged or is not a Word document"),
    ],
)
def test_bad_files_get_a_message_for_the_uploader(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        extract_text(filename=filename, data=data)


def test_docx_without_a_body_and_with_an_entity_bomb() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DocumentError, match="no document body"):
        extract_text(filename="a.docx", data=out.getvalue())

    bomb = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", bomb)
    with pytest.raises(DocumentError, match="damaged"):
        extract_text(filename="a.docx", data=out.getvalue())


def test_docx_zip_bomb_is_refused_before_inflating() -> None:
    data = docx_bytes([("", "x")], extra={"word/media/zeros.bin": b"\0" * (5 * 1024 * 1024)})
    assert len(data) < 50_000
    with pytest.raises(DocumentError, match="expands to too much data"):
        extract_text(filename="a.docx", data=data)


def test_pdf_decompression_bomb_page_limit_and_password_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = pdf_bytes("Hello", padding=100 * 1024 * 1024)  # inflates to 100 MB
    assert len(bomb) < 500_000
    with pytest.raises(DocumentError, match="expands to too much data"):
        extract_text(filename="bomb.pdf", data=bomb)
    assert "Hello" in extract_text(filename="small.pdf", data=pdf_bytes("Hello", padding=1000))

    monkeypatch.setattr(extraction, "PDF_MAX_PAGES", 2)
    with pytest.raises(DocumentError, match="more than 2 pages"):
        extract_text(filename="long.pdf", data=pdf_bytes("one", "two", "three"))

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("secret"))))
    writer.encrypt("open sesame")
    protected = io.BytesIO()
    writer.write(protected)
    with pytest.raises(DocumentError, match="password-protected"):
        extract_text(filename="locked.pdf", data=protected.getvalue())


@override_settings(UPLOAD_MAX_BYTES=100, UPLOAD_MAX_TEXT_CHARS=20)
def test_size_limits() -> None:
    with pytest.raises(DocumentError, match="largest file accepted is 100 bytes"):
        extract_text(filename="a.txt", data=b"x" * 101)
    with pytest.raises(DocumentError, match="most accepted is 20"):
        extract_text(filename="a.txt", data=b"x" * 50)


def test_typed_text_is_cleaned_and_nul_refused() -> None:
    assert text_clean("  An answer\r\n\x07with a bell  ") == "An answer\nwith a bell"
    with pytest.raises(DocumentError, match="NUL"):
        text_clean("a\x00b")
