"""Text from an uploaded file: the one way every app reads .txt, .md, .html, .pdf and .docx.

Headings come out as Markdown headings (`# Title`, `## Section`) whatever the format, so the
tutor's chunker sees one structure. Everything a file could use to hurt a worker is bounded
before it is parsed: the file's size, the inflated size of a .docx's parts (a zip bomb), the
number of PDF pages and the amount of text kept. Every refusal is a `DocumentError` whose message
can be shown to the person who uploaded the file.
"""

import io
import re
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import PurePath

from defusedxml import ElementTree
from django.conf import settings

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
SUFFIXES = (*TEXT_SUFFIXES, ".html", ".htm", ".pdf", ".docx")
# Encodings tried in order for plain text: UTF-8 (with or without BOM), the national standard
# for Chinese text, then Windows' Western default. Latin-1 is not tried: it accepts any bytes.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030", "cp1252")
DOCX_MAX_INFLATED_BYTES = 100 * 1024 * 1024
DOCX_MAX_RATIO = 200
PDF_MAX_PAGES = 2000
_WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class DocumentError(ValueError):
    """A file that cannot be read as text; the message says why, for the person uploading it."""


def extract_text(*, filename: str, data: bytes) -> str:
    """The text of an uploaded file, chosen by its extension; raises `DocumentError`."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{filename!r} is not a supported file type; use one of: {', '.join(SUFFIXES)}.")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise DocumentError(
            f"{filename!r} is {len(data):,} bytes; the largest file accepted is "
            f"{settings.UPLOAD_MAX_BYTES:,} bytes."
        )
    if not data:
        raise DocumentError(f"{filename!r} is empty.")
    if suffix == ".pdf":
        text = _pdf_text(data)
    elif suffix == ".docx":
        text = _docx_text(data)
    elif suffix in (".html", ".htm"):
        text = _html_text(_decoded(data))
    else:
        text = _decoded(data)
    text = _normalised(text)
    if not text:
        raise DocumentError(f"{filename!r} contains no text.")
    if len(text) > settings.UPLOAD_MAX_TEXT_CHARS:
        raise DocumentError(
            f"{filename!r} has {len(text):,} characters of text; the most accepted is "
            f"{settings.UPLOAD_MAX_TEXT_CHARS:,}."
        )
    return text


def text_clean(text: str) -> str:
    """Typed or pasted text in the form uploads take (newlines, no control characters)."""
    if "\x00" in text:
        raise DocumentError("The text contains NUL characters: it looks like a binary file.")
    return _normalised(text)


def _decoded(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise DocumentError("This file contains binary data, not text.")
    for encoding in TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_share(text) < 0.01:
            return text
    raise DocumentError("This file is not text in a known encoding (UTF-8, UTF-16, GB18030 or Windows-1252).")


def _control_share(text: str) -> float:
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f")
    return controls / max(len(text), 1)


def _normalised(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", "", text).replace("\f", "\n")
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class _HtmlText(HTMLParser):
    """Visible text of an HTML page, with h1-h6 as Markdown headings and blocks as paragraphs."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "section",
            "article",
            "br",
            "tr",
            "table",
            "ul",
            "ol",
            "blockquote",
            "pre",
            "header",
            "footer",
            "main",
        ]
    )
    HIDDEN = frozenset(("script", "style", "template", "noscript", "head"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n" if tag != "br" else "\n")
        elif tag == "li":
            self.parts.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif re.fullmatch(r"h[1-6]", tag) or (tag in self.BLOCKS and tag != "br"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(lines)


# What the standard library's zip reader raises for damaged archives (found by tests/fuzz/).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)


def _docx_text(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as error:
        raise DocumentError("This .docx file is damaged or is not a Word document.") from error
    with archive:
        inflated = sum(member.file_size for member in archive.infolist())
        if inflated > DOCX_MAX_INFLATED_BYTES or inflated > DOCX_MAX_RATIO * max(len(data), 1):
            raise DocumentError("This .docx file expands to too much data to be read safely.")
        try:
            document = archive.read("word/document.xml")
        except KeyError as error:
            raise DocumentError("This .docx file has no document body.") from error
        except _ZIP_ERRORS as error:
            raise DocumentError("This .docx file is damaged.") from error
    try:
        root = ElementTree.fromstring(document)
    except Exception as error:  # defusedxml raises its own errors for entity tricks
        raise DocumentError("This .docx file's document body is damaged.") from error
    paragraphs = []
    for paragraph in root.iter(f"{_WORD}p"):
        text = "".join(
            node.text or ("\t" if node.tag == f"{_WORD}tab" else "")
            for node in paragraph.iter()
            if node.tag in (f"{_WORD}t", f"{_WORD}tab")
        ).strip()
        if not text:
            continue
        style = paragraph.find(f"{_WORD}pPr/{_WORD}pStyle")
        name = (style.get(f"{_WORD}val") or "") if style is not None else ""
        level = re.fullmatch(r"(?i)heading\s*([1-6])", name) or re.fullmatch(r"(?i)title", name)
        if level:
            depth = int(level.group(1)) if level.groups() else 1
            text = "#" * depth + " " + text
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError("This file is not a PDF.")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("This PDF is password-protected; upload an unprotected copy.")
        if len(reader.pages) > PDF_MAX_PAGES:
            raise DocumentError(f"This PDF has more than {PDF_MAX_PAGES} pages.")
        pages = []
        kept = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            pages.append(text)
            kept += len(text)
            if kept > settings.UPLOAD_MAX_TEXT_CHARS:
                break
    except DocumentError:
        raise
    except LimitReachedError as error:  # pypdf's caps on what one stream may inflate to
        raise DocumentError("This PDF expands to too much data to be read.") from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise DocumentError("This PDF is damaged and cannot be read.") from error
    text = "\n\n".join(pages)
    if not text.strip():
        raise DocumentError("This PDF has no text layer (it may be scanned images); upload a PDF with text.")
    return text
