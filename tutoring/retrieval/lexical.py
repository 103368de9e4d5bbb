"""Lexical side of retrieval: tokens (words and CJK character bigrams) and a BM25 index.

Tokens are NFKC-normalised and lower-cased; English stopwords are dropped and a light suffix
stemmer folds plurals and common verb endings. A run of CJK characters (Chinese, Japanese kana,
Korean hangul) gives its overlapping character bigrams (a single character gives itself), so
Chinese needs no word segmenter. BM25 (Okapi) is a small numpy implementation over an inverted
index (postings per term), so memory grows with the text, not with vocabulary x documents.
"""

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from eduai.documents.stopwords import ENGLISH_STOPWORDS

CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\uac00-\ud7af"  # hangul syllables
)
_CJK_RUN = f"[{CJK_RANGES}]+"
_TOKEN = re.compile(rf"({_CJK_RUN})|([^\W_{CJK_RANGES}]+(?:'[^\W_{CJK_RANGES}]+)?)")

STOPWORDS = ENGLISH_STOPWORDS


def _stem(word: str) -> str:
    """A light English suffix stemmer: plurals, -ing, -ed, -ly (enough to match word forms)."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # running -> run, stopped -> stop
            elif stem.endswith(("at", "iz", "bl")):
                stem += "e"  # created -> create
            return stem
    if word.endswith("ly") and len(word) > 5:
        return word[:-2]
    return word


def lexical_tokens(text: str) -> list[str]:
    """Lower-case word stems without stopwords, plus CJK character bigrams, in text order."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text).lower()):
        cjk, word = match.group(1), match.group(2)
        if cjk:
            if len(cjk) == 1:
                tokens.append(cjk)
            else:
                tokens.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        elif word not in STOPWORDS:
            tokens.append(_stem(word.replace("'", "")))
    return tokens


class BM25:
    """Okapi BM25 over tokenised documents, scored through per-term postings."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        lengths = np.array([len(document) for document in documents], dtype=np.float32)
        average = float(lengths.mean()) if self.size and lengths.sum() else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for index, document in enumerate(documents):
            norm = k1 * (1 - b + b * lengths[index] / average)
            for term, count in Counter(document).items():
                entry = postings.setdefault(term, ([], []))
                entry[0].append(index)
                entry[1].append(count * (k1 + 1) / (count + norm))
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (docs, weights) in postings.items():
            # BM25+-style floor keeps idf positive for terms in more than half the documents.
            idf = math.log(1 + (self.size - len(docs) + 0.5) / (len(docs) + 0.5))
            self._postings[term] = (
                np.array(docs, dtype=np.int32),
                np.array(weights, dtype=np.float32) * np.float32(idf),
            )

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query (a term repeated in the query counts once)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term in dict.fromkeys(query_tokens):
            posting = self._postings.get(term)
            if posting is not None:
                np.add.at(scores, posting[0], posting[1])
        return scores
