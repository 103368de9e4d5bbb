"""Chunking of one document into retrieval passages.

A chunk never crosses a heading (Markdown ``#``, a line underlined with ``===``/``---``, a numbered
heading such as ``2.1 Photosynthesis``, or a Chinese ``第三章``/``一、`` heading) and never splits a
sentence unless the sentence alone is longer than ``max_tokens``. Sentences end at ``. ! ?``
(English abbreviations and initials are not ends) and at Chinese full-width ``. ! ? ;``
(no space needed). Chunks are packed greedily from whole sentences, preferring to end at a
paragraph break once half full.
Each chunk's ``text`` is exactly ``document[start:end]``; its ``heading`` is the path of headings
above it (with the document title first when given). One call handles one document, so a chunk
can never span two documents.
"""

import re
from dataclasses import dataclass

from .lexical import CJK_RANGES

DEFAULT_MAX_TOKENS = 160

_WORD_OR_CJK = re.compile(rf"[{CJK_RANGES}]|[^\W_{CJK_RANGES}]+")
_MARKDOWN_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NUMBERED = re.compile(r"^ {0,3}(\d+(?:\.\d+)*)\.?[ \t]+(\S.*?)[ \t]*$")
_CHINESE_CHAPTER = re.compile(r"^\s*第[一二三四五六七八九十百千零〇\d]+([章节節部分篇课課讲講])\s*(.*?)\s*$")
_CHINESE_ENUMERATED = re.compile(r"^\s*[一二三四五六七八九十]+[、.．]\s*(\S.{0,29}?)\s*$")  # noqa: RUF001
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])[ \t]+")
_TRAILING_PUNCTUATION = tuple(".!?:;,。！？；，：、")  # noqa: RUF001
_SENTENCE_END = re.compile(
    r"(?P<latin>[.!?]+)[\"'”’)\]]*(?=\s)|(?P<cjk>[。！？；!?]+)[\"'”’」』）)\]]*"  # noqa: RUF001
)
_ABBREVIATION_TEXT = (
    "e.g i.e etc vs cf al fig figs eq eqs no nos dr mr mrs ms prof st jr sr inc ltd co approx ca"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())


@dataclass(frozen=True)
class ChunkText:
    """One passage of a document: ``text == document[start:end]``; ``heading`` is its context."""

    ordinal: int
    text: str
    heading: str
    start: int
    end: int

    @property
    def indexed_text(self) -> str:
        """What to embed and index: the heading path, then the passage."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def token_count(text: str) -> int:
    """Approximate model tokens: words plus CJK characters."""
    return len(_WORD_OR_CJK.findall(text))


@dataclass
class _Line:
    start: int
    end: int  # without the line break
    text: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()


def _lines(text: str) -> list[_Line]:
    lines, position = [], 0
    for raw in text.splitlines(keepends=True):
        content = raw.rstrip("\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85")
        lines.append(_Line(position, position + len(content), content))
        position += len(raw)
    return lines


def _is_numbered_heading(lines: list[_Line], index: int) -> tuple[int, str] | None:
    match = _NUMBERED.match(lines[index].text)
    if not match:
        return None
    title = match.group(2)
    if (
        len(title.split()) > 12
        or len(title) > 80
        or title.endswith(_TRAILING_PUNCTUATION)
        or not (title[0].isupper() or re.match(f"[{CJK_RANGES}]", title[0]))
    ):
        return None
    # A numbered list (an item next to another item) is not a run of headings.
    for neighbour in (index - 1, index + 1):
        if 0 <= neighbour < len(lines) and _LIST_ITEM.match(lines[neighbour].text):
            return None
    return match.group(1).count(".") + 1, f"{match.group(1)} {title}"


def _heading_at(lines: list[_Line], index: int) -> tuple[int, str, int] | None:
    """(level, heading text, lines used) when a heading starts at line ``index``."""
    line = lines[index]
    if line.blank:
        return None
    if match := _MARKDOWN_HEADING.match(line.text):
        return len(match.group(1)), match.group(2).strip(), 1
    following = lines[index + 1] if index + 1 < len(lines) else None
    if (
        following is not None
        and (underline := _UNDERLINE.match(following.text))
        and len(underline.group(1)) >= 3
        and not _LIST_ITEM.match(line.text)
        and len(line.text.strip()) <= 120
    ):
        return (1 if underline.group(1)[0] == "=" else 2), line.text.strip(), 2
    chapter = _CHINESE_CHAPTER.match(line.text)
    if chapter and len(line.text.strip()) <= 40 and not line.text.strip().endswith(_TRAILING_PUNCTUATION):
        return (2 if chapter.group(1) in "节節课課讲講" else 1), line.text.strip(), 1
    enumerated = _CHINESE_ENUMERATED.match(line.text)
    if enumerated and not enumerated.group(1).endswith(_TRAILING_PUNCTUATION):
        return 3, line.text.strip(), 1
    if numbered := _is_numbered_heading(lines, index):
        return numbered[0], numbered[1], 1
    return None


def _sections(text: str) -> list[tuple[str | None, int, int, int]]:
    """(heading, level, body start, body end) for the text before and after each heading."""
    lines = _lines(text)
    sections: list[tuple[str | None, int, int, int]] = []
    heading: str | None = None
    level, body_start, index = 0, 0, 0
    while index < len(lines):
        found = _heading_at(lines, index)
        if found is None:
            index += 1
            continue
        sections.append((heading, level, body_start, lines[index].start))
        level, heading, used = found
        body_start = lines[index + used - 1].end
        index += used
    sections.append((heading, level, body_start, len(text)))
    return sections


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    if match.group("cjk"):
        return True
    if match.group("latin") != ".":
        return True
    word = re.search(r"([\w.]+)$", text[: match.start()])
    previous = word.group(1).lower() if word else ""
    if previous in _ABBREVIATIONS or (len(previous) == 1 and previous.isalpha()):
        return False
    following = re.match(r"\s*(\S)", text[match.end() :])
    return following is None or not following.group(1).islower()


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans (trimmed of surrounding whitespace) within ``text[start:end]``."""
    spans, position = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _is_sentence_end(text[:end], match):
            spans.append((position, match.end()))
            position = match.end()
    spans.append((position, end))
    trimmed = []
    for first, last in spans:
        segment = text[first:last]
        stripped = segment.strip()
        if stripped:
            offset = first + len(segment) - len(segment.lstrip())
            trimmed.append((offset, offset + len(stripped)))
    return trimmed


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``max_tokens`` tokens, at token bounds."""
    tokens = list(_WORD_OR_CJK.finditer(text, start, end))
    pieces = []
    for first in range(0, len(tokens), max_tokens):
        window = tokens[first : first + max_tokens]
        piece_start = start if first == 0 else window[0].start()
        following = first + max_tokens
        piece_end = end if following >= len(tokens) else tokens[following].start()
        segment = text[piece_start:piece_end]
        stripped = segment.rstrip()
        pieces.append((piece_start, piece_start + len(stripped)))
    return pieces


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, position = [], start
    for match in re.finditer(r"\n[ \t]*\n\s*", text[start:end]):
        spans.append((position, start + match.start()))
        position = start + match.end()
    spans.append((position, end))
    return [(first, last) for first, last in spans if text[first:last].strip()]


def chunk_document(text: str, *, max_tokens: int = DEFAULT_MAX_TOKENS, title: str = "") -> list[ChunkText]:
    """Passages of one document, in order; see the module docstring for the rules."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1.")
    chunks: list[ChunkText] = []
    path: list[tuple[int, str]] = []
    for heading, level, body_start, body_end in _sections(text):
        if heading is not None:
            path = [(depth, name) for depth, name in path if depth < level]
            path.append((level, heading))
        heading_text = " > ".join([*([title.strip()] if title.strip() else []), *(name for _, name in path)])
        units: list[tuple[int, int, int, bool]] = []  # start, end, tokens, ends a paragraph
        for paragraph_start, paragraph_end in _paragraphs(text, body_start, body_end):
            sentences = _sentences(text, paragraph_start, paragraph_end)
            for position, (first, last) in enumerate(sentences):
                count = token_count(text[first:last])
                pieces = (
                    [(first, last)] if count <= max_tokens else _split_long(text, first, last, max_tokens)
                )
                for number, (piece_start, piece_end) in enumerate(pieces):
                    ends_paragraph = position == len(sentences) - 1 and number == len(pieces) - 1
                    units.append(
                        (piece_start, piece_end, token_count(text[piece_start:piece_end]), ends_paragraph)
                    )
        current: list[tuple[int, int, int, bool]] = []
        for unit in [*units, None]:
            size = sum(item[2] for item in current)
            full = unit is None or size + unit[2] > max_tokens
            paragraph_break = bool(current) and current[-1][3] and size >= max_tokens // 2
            if current and (full or paragraph_break):
                first, last = current[0][0], current[-1][1]
                chunks.append(ChunkText(len(chunks), text[first:last], heading_text, first, last))
                current = []
            if unit is not None:
                current.append(unit)
    return chunks
