# ruff: noqa: RUF001
"""Chunking: headings, sentences (English and Chinese), offsets, limits, one document at a time."""

import itertools

import pytest

from tutoring.retrieval import chunk_document, token_count
from tutoring.retrieval.evaluation import Document, materials_chunk

GUIDE = """# Cells

Cells are the basic unit of life. Dr. Smith saw them first, e.g. in cork. They divide!

## Mitosis
Mitosis has four phases. Each phase has a name.

Photosynthesis
==============
Plants make sugar from light.

Respiration
-----------
Cells release energy from sugar.

2.1 Energy Flow
Energy flows from the sun. The value 3.14 is not split.
"""


def _check_offsets(document, chunks):
    for chunk in chunks:
        assert document[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))


def test_markdown_underlined_and_numbered_headings_start_new_chunks_with_their_path():
    chunks = chunk_document(GUIDE, title="Biology 101")
    _check_offsets(GUIDE, chunks)
    by_heading = {chunk.heading: chunk.text for chunk in chunks}
    assert by_heading == {
        "Biology 101 > Cells": (
            "Cells are the basic unit of life. Dr. Smith saw them first, e.g. in cork. They divide!"
        ),
        "Biology 101 > Cells > Mitosis": "Mitosis has four phases. Each phase has a name.",
        "Biology 101 > Photosynthesis": "Plants make sugar from light.",
        "Biology 101 > Photosynthesis > Respiration": "Cells release energy from sugar.",
        "Biology 101 > Photosynthesis > 2.1 Energy Flow": (
            "Energy flows from the sun. The value 3.14 is not split."
        ),
    }
    assert chunks[0].indexed_text == "Biology 101 > Cells\n" + chunks[0].text


def test_small_limit_splits_at_sentence_ends_not_at_abbreviations_or_decimals():
    chunks = chunk_document(GUIDE, max_tokens=12)
    _check_offsets(GUIDE, chunks)
    texts = [chunk.text for chunk in chunks]
    assert "Cells are the basic unit of life." in texts
    assert "Dr. Smith saw them first, e.g. in cork. They divide!" in texts
    assert "Energy flows from the sun. The value 3.14 is not split." in texts
    assert all(token_count(text) <= 12 for text in texts)


def test_a_numbered_list_is_not_taken_for_headings():
    text = "Steps to follow\n\n1. Mix the solution\n2. Heat it gently\n3. Record the colour\n"
    chunks = chunk_document(text)
    assert len(chunks) == 1
    assert chunks[0].heading == ""
    assert "2. Heat it gently" in chunks[0].text


def test_chinese_headings_and_sentence_ends_without_spaces():
    text = (
        "第一章 光合作用\n植物利用光能制造糖。叶绿体是光合作用的场所！二氧化碳被固定吗？"
        "\n\n第二节 呼吸作用\n细胞分解糖释放能量。"
    )
    chunks = chunk_document(text, max_tokens=16)
    _check_offsets(text, chunks)
    assert [(chunk.heading, chunk.text) for chunk in chunks] == [
        ("第一章 光合作用", "植物利用光能制造糖。"),
        ("第一章 光合作用", "叶绿体是光合作用的场所！"),
        ("第一章 光合作用", "二氧化碳被固定吗？"),
        ("第一章 光合作用 > 第二节 呼吸作用", "细胞分解糖释放能量。"),
    ]


def test_paragraph_break_is_preferred_once_a_chunk_is_half_full():
    first = " ".join(f"Sentence {n} about cells." for n in range(6))
    second = " ".join(f"Sentence {n} about genes." for n in range(6))
    text = f"{first}\n\n{second}"
    chunks = chunk_document(text, max_tokens=40)
    _check_offsets(text, chunks)
    assert [chunk.text for chunk in chunks] == [first, second]


def test_an_overlong_sentence_is_cut_into_pieces_within_the_limit():
    text = " ".join(f"word{n}" for n in range(50)) + "."
    chunks = chunk_document(text, max_tokens=20)
    _check_offsets(text, chunks)
    assert [token_count(chunk.text) for chunk in chunks] == [20, 20, 10]
    assert " ".join(chunk.text for chunk in chunks) == text


def test_empty_and_heading_only_documents_give_no_chunks_and_bad_limit_is_refused():
    assert chunk_document("") == []
    assert chunk_document("# Only a heading\n\n## And another\n") == []
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document("text", max_tokens=0)


def test_chunks_never_span_two_documents():
    documents = [Document("a", "Plants need light"), Document("b", "and water to grow.")]
    chunked = materials_chunk(documents, max_tokens=100)
    assert [chunk.text for chunk in chunked.chunks] == ["Plants need light", "and water to grow."]
    assert chunked.document_of == [0, 1]
    assert [chunk.ordinal for chunk in chunked.chunks] == [0, 1]
