"""Features of an answer: against its question and reference answers (pair features, for any
question, seen or not) and of the text alone (essay features)."""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embeddings import embed_texts
from .text import char_ngrams, content_stems, negation_count, sentences, stem, tokens
from .types import GradingItem

PAIR_FEATURES = (
    "cos_ref_max",
    "cos_ref_mean",
    "cos_question",
    "cos_ref_minus_question",
    "recall_ref_max",
    "recall_ref_mean",
    "precision_ref_max",
    "recall_ref_demoted_max",
    "precision_demoted",
    "bigram_recall_max",
    "char3_jaccard_max",
    "log_tokens",
    "log_length_ratio",
    "question_share",
    "negation_mismatch",
    "empty",
    "has_reference",
)
ESSAY_FEATURES = (
    "log_words",
    "log_characters",
    "log_sentences",
    "words_per_sentence",
    "characters_per_word",
    "long_word_share",
    "type_token_ratio",
    "log_unique_words",
    "comma_rate",
    "punctuation_rate",
    "capitalised_sentence_share",
    "digit_share",
    "rare_share",
)


@dataclass(frozen=True)
class Embedded:
    """Embeddings for a batch of items: answers, questions and each item's references."""

    answers: np.ndarray
    questions: np.ndarray
    references: list[np.ndarray]


def embed_items(items: Sequence[GradingItem]) -> Embedded:
    references = [text for item in items for text in item.reference_answers]
    texts = [item.answer or " " for item in items] + [item.question or " " for item in items] + references
    vectors = embed_texts(texts)
    count = len(items)
    offsets = np.cumsum([0, *(len(item.reference_answers) for item in items)]) + 2 * count
    return Embedded(
        answers=vectors[:count],
        questions=vectors[count : 2 * count],
        references=[vectors[offsets[i] : offsets[i + 1]] for i in range(count)],
    )


def _bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def _pair_row(
    item: GradingItem, answer_vec: np.ndarray, question_vec: np.ndarray, refs: np.ndarray
) -> list[float]:
    answer_stems = content_stems(item.answer)
    answer_set = set(answer_stems)
    question_set = set(content_stems(item.question))
    answer_tokens = tokens(item.answer)
    empty = 1.0 if not answer_tokens else 0.0
    cos_question = float(answer_vec @ question_vec) if item.question.strip() else 0.0
    if not item.reference_answers:
        return [
            0.0,
            0.0,
            cos_question,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            math.log1p(len(answer_tokens)),
            0.0,
            len(answer_set & question_set) / max(1, len(answer_set)),
            0.0,
            empty,
            0.0,
        ]
    cosines = refs @ answer_vec
    recalls, precisions, demoted, bigram_recalls, jaccards, lengths = [], [], [], [], [], []
    answer_bigrams = _bigrams([stem(word) for word in answer_tokens])
    answer_chars = char_ngrams(item.answer)
    for reference in item.reference_answers:
        ref_stems = set(content_stems(reference))
        overlap = answer_set & ref_stems
        recalls.append(len(overlap) / max(1, len(ref_stems)))
        precisions.append(len(overlap) / max(1, len(answer_set)))
        ref_new = ref_stems - question_set
        demoted.append(len(overlap & ref_new) / max(1, len(ref_new)) if ref_new else recalls[-1])
        ref_bigrams = _bigrams([stem(word) for word in tokens(reference)])
        bigram_recalls.append(len(answer_bigrams & ref_bigrams) / max(1, len(ref_bigrams)))
        ref_chars = char_ngrams(reference)
        jaccards.append(len(answer_chars & ref_chars) / max(1, len(answer_chars | ref_chars)))
        lengths.append(len(tokens(reference)))
    best = int(np.argmax(cosines))
    answer_new = answer_set - question_set
    all_refs = set().union(*(set(content_stems(reference)) for reference in item.reference_answers))
    negation = (negation_count(item.answer) > 0) != (negation_count(item.reference_answers[best]) > 0)
    return [
        float(cosines.max()),
        float(cosines.mean()),
        cos_question,
        float(cosines.max()) - cos_question,
        max(recalls),
        float(np.mean(recalls)),
        max(precisions),
        max(demoted),
        len(answer_new & all_refs) / max(1, len(answer_new)),
        max(bigram_recalls),
        max(jaccards),
        math.log1p(len(answer_tokens)),
        math.log((len(answer_tokens) + 1) / (lengths[best] + 1)),
        len(answer_set & question_set) / max(1, len(answer_set)),
        1.0 if negation else 0.0,
        empty,
        1.0,
    ]


def pair_features(items: Sequence[GradingItem], embedded: Embedded) -> np.ndarray:
    rows = [
        _pair_row(item, embedded.answers[i], embedded.questions[i], embedded.references[i])
        for i, item in enumerate(items)
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(items), len(PAIR_FEATURES))


def essay_features(texts: Sequence[str], vocabulary: frozenset[str] = frozenset()) -> np.ndarray:
    """Surface features of each text; ``rare_share`` is the share of words outside ``vocabulary``
    (the words of the training answers: a spelling-error proxy)."""
    rows = []
    for text in texts:
        words = tokens(text)
        count = max(1, len(words))
        parts = sentences(text) or [text]
        letters = sum(len(word) for word in words)
        rows.append(
            [
                math.log1p(len(words)),
                math.log1p(len(text)),
                math.log1p(len(parts)),
                len(words) / max(1, len(parts)),
                letters / count,
                sum(1 for word in words if len(word) >= 7) / count,
                len(set(words)) / count,
                math.log1p(len(set(words))),
                text.count(",") / count,
                sum(text.count(mark) for mark in ";:!?()-\"'") / count,
                sum(1 for part in parts if part[:1].isupper()) / len(parts),
                sum(1 for word in words if word.isdigit()) / count,
                (sum(1 for word in words if word not in vocabulary) / count) if vocabulary else 0.0,
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(ESSAY_FEATURES))
