# ruff: noqa: RUF001
"""Lexical tokens (words, stems, stopwords, CJK bigrams) and BM25."""

import numpy as np

from tutoring.retrieval import BM25, lexical_tokens


def test_words_are_lowercased_stemmed_and_stopwords_dropped():
    assert lexical_tokens("The Cats were running; studies STUDIED it.") == ["cat", "run", "study", "study"]
    assert lexical_tokens("Don't panic: it's 42") == ["panic", "42"]


def test_cjk_runs_give_character_bigrams_and_mixed_text_keeps_both():
    assert lexical_tokens("光合作用") == ["光合", "合作", "作用"]
    assert lexical_tokens("水 is H2O，即水分子") == ["水", "h2o", "即水", "水分", "分子"]
    assert lexical_tokens("ｆｕｌｌｗｉｄｔｈ") == ["fullwidth"]


def test_bm25_ranks_the_matching_document_first_and_ignores_unknown_terms():
    documents = [
        lexical_tokens(text) for text in ["Plants need sunlight", "Rocks erode over time", "光合作用需要光"]
    ]
    bm25 = BM25(documents)
    assert int(np.argmax(bm25.scores(lexical_tokens("how do plants use sunlight")))) == 0
    assert int(np.argmax(bm25.scores(lexical_tokens("什么是光合作用")))) == 2
    assert not bm25.scores(lexical_tokens("volcano")).any()


def test_bm25_prefers_rare_terms_and_shorter_documents():
    documents = [
        lexical_tokens(text) for text in ["energy sun", "energy plant", "energy sun energy plant light"]
    ]
    scores = BM25(documents).scores(["sun"])
    assert scores[0] > scores[2] > 0
    assert scores[1] == 0
