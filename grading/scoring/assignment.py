"""The per-assignment scorer, trained on the grades instructors confirmed for one assignment.

One ridge regression over four blocks of features, fitted in its dual (kernel) form so the
regularisation and the blocks' weights are chosen by cross-validation at the cost of one
eigendecomposition per fold: word TF-IDF (1-2 grams), character TF-IDF (2-5 grams within
words), the answer's sentence embedding (through the model runtime; short answers only, see
``ESSAY_WORDS``), and dense features: answer vs question/references (``features.PAIR_FEATURES``),
surface essay features, the cold-start model's probability, and the scores of the most similar
confirmed answers (nearest neighbours by embedding).
The out-of-fold predictions then fit (a) a linear stretch of the predictions that maximises
QWK on integer scales (ridge shrinks towards the mean) and (b) the confidence: a logistic model of
"the rounded prediction is exactly right" from the disagreement of block-wise sub-models, the
distance to the rounding boundary and the neighbours' similarity and agreement.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

from .cold_start import ColdStartScorer, cold_start_scorer
from .criteria import criteria_results, rubric_references
from .features import Embedded, embed_items, essay_features, pair_features
from .metrics import quadratic_weighted_kappa
from .storage import scorer_write
from .text import tokens
from .types import GradingItem, ScorePrediction, ScoringError

MIN_TRAINING_ITEMS = 8
LARGE = 600  # above this many answers: 3-fold cross-validation and fewer configurations (time)
ESSAY_WORDS = 60  # answers whose median length is above this are scored without embeddings
NEIGHBOURS = 5
LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
# Block weights (word, char, embedding, dense) tried by cross-validation.
BLOCK_WEIGHTS = ((1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 0.3, 2.0), (0.5, 0.5, 2.0, 2.0), (2.0, 2.0, 0.5, 0.5))
SUBMODELS = ((1.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 1.0))
WORD_OPTIONS: dict[str, Any] = {
    "ngram_range": (1, 2),
    "min_df": 2,
    "sublinear_tf": True,
    "max_features": 40000,
}
CHAR_OPTIONS: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (2, 5),
    "min_df": 2,
    "sublinear_tf": True,
    "max_features": 60000,
}


def _neighbour_features(
    vectors: np.ndarray,
    prompts: Sequence[str],
    memory_vectors: np.ndarray,
    memory_prompts: Sequence[str],
    memory_fractions: np.ndarray,
    *,
    leave_one_out: bool,
) -> np.ndarray:
    """Per answer: similarity-weighted mean score of its nearest confirmed answers (same
    prompt), the nearest one's score, the top similarity, and the spread of the neighbours' scores."""
    rows = np.zeros((len(vectors), 4))
    by_prompt: dict[str, list[int]] = defaultdict(list)
    for index, prompt in enumerate(memory_prompts):
        by_prompt[prompt].append(index)
    default = float(memory_fractions.mean()) if len(memory_fractions) else 0.5
    for index, prompt in enumerate(prompts):
        members = np.array(by_prompt.get(prompt, []), dtype=int)
        similarities = memory_vectors[members] @ vectors[index] if len(members) else np.zeros(0)
        if leave_one_out and len(members):
            keep = members != index
            members, similarities = members[keep], similarities[keep]
        if not len(members):
            rows[index] = (default, default, 0.0, 0.0)
            continue
        top = np.argsort(-similarities)[:NEIGHBOURS]
        weights = np.exp(20 * (similarities[top] - similarities[top].max()))
        fractions = memory_fractions[members[top]]
        rows[index] = (
            float(weights @ fractions / weights.sum()),
            float(fractions[0]),
            float(similarities[top[0]]),
            float(fractions.std()),
        )
    return rows


def _no_embeddings(items: Sequence[GradingItem]) -> Embedded:
    """Stand-in vectors for essays, which are scored without sentence embeddings."""
    count = len(items)
    return Embedded(
        answers=np.zeros((count, 1)),
        questions=np.zeros((count, 1)),
        references=[np.zeros((len(item.reference_answers), 1)) for item in items],
    )


@dataclass
class _Blocks:
    word: Any  # scipy.sparse.csr_matrix
    char: Any
    embedding: np.ndarray
    dense: np.ndarray

    grams: list[np.ndarray] = field(default_factory=list)

    def kernel(self, weights: Sequence[float]) -> np.ndarray:
        """1 + the weighted sum of the blocks' Gram matrices over all rows (each computed once)."""
        if not self.grams:
            self.grams = [
                (self.word @ self.word.T).toarray(),
                (self.char @ self.char.T).toarray(),
                self.embedding @ self.embedding.T,
                self.dense @ self.dense.T,
            ]
        result = np.ones_like(self.grams[0])
        for weight, gram in zip(weights, self.grams, strict=True):
            if weight:
                result += weight * gram
        return result


def _folds(count: int, seed: int = 13) -> list[np.ndarray]:
    folds = 5 if count <= LARGE else 3
    order = np.random.default_rng(seed).permutation(count)
    return [order[part::folds] for part in range(folds)]


def _out_of_fold(blocks: _Blocks, targets: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Out-of-fold predictions (centred targets) for every lambda: shape (lambdas, items)."""
    count = len(targets)
    everything = np.arange(count)
    full = blocks.kernel(weights)
    predictions = np.zeros((len(LAMBDAS), count))
    for test in _folds(count):
        train = np.setdiff1d(everything, test)
        values, vectors = np.linalg.eigh(full[np.ix_(train, train)])
        projected = vectors.T @ targets[train]
        cross = full[np.ix_(test, train)] @ vectors
        for position, penalty in enumerate(LAMBDAS):
            predictions[position, test] = cross @ (projected / (np.maximum(values, 0) + penalty))
    return predictions


def _dual(kernel: np.ndarray, targets: np.ndarray, penalty: float) -> np.ndarray:
    return np.asarray(np.linalg.solve(kernel + penalty * np.eye(len(targets)), targets))


@dataclass
class AssignmentScorer:
    word: TfidfVectorizer
    char: TfidfVectorizer
    vocabulary: frozenset[str]
    dense_mean: np.ndarray
    dense_scale: np.ndarray
    weights: tuple[float, float, float, float]
    coefficients: dict[str, np.ndarray]  # word, char, embedding, dense, constant (one per model)
    target_mean: float
    stretch: tuple[float, float]
    confidence_coef: np.ndarray
    confidence_intercept: float
    memory_vectors: np.ndarray
    memory_prompts: list[str]
    memory_fractions: np.ndarray
    cold_start: ColdStartScorer
    integer_scores: bool
    use_embeddings: bool = True
    info: dict[str, Any] = field(default_factory=dict)
    kind: str = "assignment"

    def _embed(self, items: Sequence[GradingItem]) -> Embedded:
        if self.use_embeddings:
            return embed_items(items)
        return _no_embeddings(items)

    # -- features -----------------------------------------------------------------------------
    def _dense(self, items: Sequence[GradingItem], embedded: Embedded, *, leave_one_out: bool) -> np.ndarray:
        pairs = pair_features(items, embedded)
        cold = self.cold_start.probabilities_from_features(pairs)
        neighbours = np.zeros((len(items), 4))
        if self.use_embeddings:
            neighbours = _neighbour_features(
                embedded.answers,
                [item.prompt_id for item in items],
                self.memory_vectors,
                self.memory_prompts,
                self.memory_fractions,
                leave_one_out=leave_one_out,
            )
        essays = essay_features([item.answer for item in items], self.vocabulary)
        return np.hstack([pairs, essays, cold[:, None], neighbours])

    def _blocks(self, items: Sequence[GradingItem], embedded: Embedded, dense: np.ndarray) -> _Blocks:
        texts = [item.answer for item in items]
        scaled = (dense - self.dense_mean) / self.dense_scale / np.sqrt(dense.shape[1])
        return _Blocks(
            word=self.word.transform(texts).tocsr(),
            char=self.char.transform(texts).tocsr(),
            embedding=embedded.answers.astype(np.float64),
            dense=scaled,
        )

    def _raw(self, blocks: _Blocks, model: str) -> np.ndarray:
        coefficients = self.coefficients
        return np.asarray(
            blocks.word @ coefficients[f"{model}.word"]
            + blocks.char @ coefficients[f"{model}.char"]
            + blocks.embedding @ coefficients[f"{model}.embedding"]
            + blocks.dense @ coefficients[f"{model}.dense"]
            + coefficients[f"{model}.constant"][0]
        )

    def _confidence_inputs(
        self, main: np.ndarray, subs: list[np.ndarray], items: Sequence[GradingItem], neighbours: np.ndarray
    ) -> np.ndarray:
        ranges = np.array([item.max_score - item.min_score for item in items])
        spread = np.std(np.vstack([main, *subs]), axis=0) * ranges
        scores = np.array([item.min_score for item in items]) + main * ranges
        boundary = np.abs(scores - np.round(scores)) if self.integer_scores else np.zeros(len(items))
        return np.column_stack([spread, boundary, neighbours[:, 2], neighbours[:, 3] * ranges])

    def _fractions(self, raw: np.ndarray) -> np.ndarray:
        stretch, shift = self.stretch
        return np.clip(self.target_mean + stretch * raw + shift, 0.0, 1.0)

    # -- the interface ------------------------------------------------------------------------
    def predict(self, items: Sequence[GradingItem]) -> list[ScorePrediction]:
        if not items:
            return []
        items = rubric_references(items)
        embedded = self._embed(items)
        dense = self._dense(items, embedded, leave_one_out=False)
        blocks = self._blocks(items, embedded, dense)
        main = self._fractions(self._raw(blocks, "main"))
        subs = [self._fractions(self._raw(blocks, f"sub{index}")) for index in range(len(SUBMODELS))]
        inputs = self._confidence_inputs(main, subs, items, dense[:, -4:])
        confidence = 1.0 / (1.0 + np.exp(-(inputs @ self.confidence_coef + self.confidence_intercept)))
        return [
            ScorePrediction(
                score=item.from_fraction(float(fraction)),
                confidence=float(np.clip(level, 0.0, 1.0)),
                criteria=criteria_results(item, float(fraction)),
            )
            for item, fraction, level in zip(items, main, confidence, strict=True)
        ]

    def save(self, directory: Path) -> None:
        meta = {
            "kind": self.kind,
            "word": {"vocabulary": {k: int(v) for k, v in self.word.vocabulary_.items()}},
            "char": {"vocabulary": {k: int(v) for k, v in self.char.vocabulary_.items()}},
            "vocabulary": sorted(self.vocabulary),
            "weights": list(self.weights),
            "target_mean": self.target_mean,
            "stretch": list(self.stretch),
            "confidence_intercept": self.confidence_intercept,
            "memory_prompts": self.memory_prompts,
            "cold_start": self.cold_start.parameters(),
            "integer_scores": self.integer_scores,
            "use_embeddings": self.use_embeddings,
            "info": self.info,
        }
        arrays = {
            "word_idf": self.word.idf_,
            "char_idf": self.char.idf_,
            "dense_mean": self.dense_mean,
            "dense_scale": self.dense_scale,
            "confidence_coef": self.confidence_coef,
            "memory_vectors": self.memory_vectors,
            "memory_fractions": self.memory_fractions,
            **{f"coef.{name}": value for name, value in self.coefficients.items()},
        }
        scorer_write(directory, meta, arrays)

    @classmethod
    def from_saved(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "AssignmentScorer":
        word = TfidfVectorizer(**WORD_OPTIONS, vocabulary=meta["word"]["vocabulary"])
        word.idf_ = arrays["word_idf"]
        char = TfidfVectorizer(**CHAR_OPTIONS, vocabulary=meta["char"]["vocabulary"])
        char.idf_ = arrays["char_idf"]
        return cls(
            word=word,
            char=char,
            vocabulary=frozenset(meta["vocabulary"]),
            dense_mean=arrays["dense_mean"],
            dense_scale=arrays["dense_scale"],
            weights=tuple(meta["weights"]),
            coefficients={
                name.removeprefix("coef."): value
                for name, value in arrays.items()
                if name.startswith("coef.")
            },
            target_mean=float(meta["target_mean"]),
            stretch=(float(meta["stretch"][0]), float(meta["stretch"][1])),
            confidence_coef=arrays["confidence_coef"],
            confidence_intercept=float(meta["confidence_intercept"]),
            memory_vectors=arrays["memory_vectors"],
            memory_prompts=list(meta["memory_prompts"]),
            memory_fractions=arrays["memory_fractions"],
            cold_start=ColdStartScorer.from_parameters(meta["cold_start"]),
            integer_scores=bool(meta["integer_scores"]),
            use_embeddings=bool(meta["use_embeddings"]),
            info=dict(meta.get("info", {})),
        )


def _stretch_fit(
    oof: np.ndarray, targets: np.ndarray, items: Sequence[GradingItem], integer_scores: bool
) -> tuple[float, float]:
    """The linear stretch (a, b) of centred out-of-fold predictions that maximises QWK."""
    if not integer_scores or len(items) < 30:
        return 1.0, 0.0
    low = np.array([item.min_score for item in items])
    ranges = np.array([item.max_score - item.min_score for item in items])
    truth = np.round(low + targets * ranges).astype(int)
    best = (-2.0, 1.0, 0.0)
    for stretch in np.arange(0.9, 1.81, 0.05):
        for shift in np.arange(-0.06, 0.061, 0.01):
            fractions = np.clip(targets.mean() + stretch * oof + shift, 0, 1)
            predicted = np.round(low + fractions * ranges).astype(int)
            kappa = quadratic_weighted_kappa(truth, predicted)
            # Prefer no stretch unless it helps clearly (the grid would otherwise chase noise).
            kappa -= 0.002 * abs(stretch - 1.0) + 0.002 * abs(shift) * 10
            if kappa > best[0]:
                best = (kappa, float(stretch), float(shift))
    return best[1], best[2]


def assignment_scorer_train(items: Sequence[GradingItem], scores: Sequence[float]) -> AssignmentScorer:
    """A scorer for one assignment (or several, each keeping its own neighbours) from confirmed grades."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    if len(items) != len(scores):
        raise ScoringError(f"{len(items)} items but {len(scores)} scores.")
    if len(items) < MIN_TRAINING_ITEMS:
        raise ScoringError(f"A per-assignment scorer needs at least {MIN_TRAINING_ITEMS} graded answers.")
    for item, score in zip(items, scores, strict=True):
        if not item.min_score <= score <= item.max_score:
            raise ScoringError(
                f"Score {score} of item {item.item_id or item.prompt_id} is outside "
                f"[{item.min_score}, {item.max_score}]."
            )
    items = rubric_references(items)
    fractions = np.array([item.fraction(score) for item, score in zip(items, scores, strict=True)])
    integer_scores = all(float(s).is_integer() for s in scores) and all(
        float(item.min_score).is_integer() and float(item.max_score).is_integer() for item in items
    )
    texts = [item.answer for item in items]
    small = len(items) < 50
    word = TfidfVectorizer(**{**WORD_OPTIONS, "min_df": 1 if small else 2})
    char = TfidfVectorizer(**{**CHAR_OPTIONS, "min_df": 1 if small else 2})
    try:
        word.fit(texts)
        char.fit(texts)
    except ValueError as error:
        raise ScoringError(f"The graded answers have no usable words: {error}") from error
    # Essays and long answers (median above ESSAY_WORDS words) are scored without the encoder:
    # it reads only their first 256 tokens and costs most of the time on a CPU worker (ASAP
    # prompt 3, 1,730 answers: 476 s of 537 s), while word and character n-grams and the
    # surface features carry most of the signal. Short answers are embedded.
    use_embeddings = float(np.median([len(text.split()) for text in texts])) < ESSAY_WORDS
    embedded = embed_items(items) if use_embeddings else _no_embeddings(items)
    scorer = AssignmentScorer(
        word=word,
        char=char,
        vocabulary=frozenset(word for text in texts for word in tokens(text)),
        dense_mean=np.zeros(1),
        dense_scale=np.ones(1),
        weights=BLOCK_WEIGHTS[0],
        coefficients={},
        target_mean=float(fractions.mean()),
        stretch=(1.0, 0.0),
        confidence_coef=np.zeros(4),
        confidence_intercept=0.0,
        memory_vectors=embedded.answers.astype(np.float32),
        memory_prompts=[item.prompt_id for item in items],
        memory_fractions=fractions,
        cold_start=cold_start_scorer(),
        integer_scores=integer_scores,
        use_embeddings=use_embeddings,
        info={"trained_answers": len(items)},
    )
    dense = scorer._dense(items, embedded, leave_one_out=True)
    scorer.dense_mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale < 1e-9] = 1.0
    scorer.dense_scale = scale
    blocks = scorer._blocks(items, embedded, dense)
    centred = fractions - fractions.mean()

    def select(
        weight_options: Sequence[tuple[float, float, float, float]],
    ) -> tuple[tuple[float, ...], int, np.ndarray]:
        best: tuple[float, tuple[float, ...], int, np.ndarray] | None = None
        for weights in weight_options:
            oof = _out_of_fold(blocks, centred, weights)
            errors = ((oof - centred) ** 2).mean(axis=1)
            position = int(np.argmin(errors))
            if best is None or errors[position] < best[0]:
                best = (float(errors[position]), weights, position, oof[position])
        if best is None:
            raise ScoringError("No model configuration to choose from.")
        return best[1], best[2], best[3]

    weights, position, oof = select(BLOCK_WEIGHTS if len(items) <= LARGE else BLOCK_WEIGHTS[:2])
    scorer.weights = weights  # type: ignore[assignment]
    models = {"main": (weights, position)}
    sub_oof = []
    for index, sub_weights in enumerate(SUBMODELS):
        chosen, sub_position, sub_predictions = select([sub_weights])
        models[f"sub{index}"] = (chosen, sub_position)
        sub_oof.append(sub_predictions)
    for name, (model_weights, model_position) in models.items():
        kernel = blocks.kernel(model_weights)
        dual = _dual(kernel, centred, LAMBDAS[model_position])
        word_weight, char_weight, embedding_weight, dense_weight = model_weights
        scorer.coefficients[f"{name}.word"] = word_weight * np.asarray(blocks.word.T @ dual).ravel()
        scorer.coefficients[f"{name}.char"] = char_weight * np.asarray(blocks.char.T @ dual).ravel()
        scorer.coefficients[f"{name}.embedding"] = embedding_weight * blocks.embedding.T @ dual
        scorer.coefficients[f"{name}.dense"] = dense_weight * blocks.dense.T @ dual
        scorer.coefficients[f"{name}.constant"] = np.array([dual.sum()])
    scorer.stretch = _stretch_fit(oof, fractions, items, integer_scores)
    # Confidence: how often, out of fold, the (rounded) prediction was right.
    main = scorer._fractions(oof)
    subs = [scorer._fractions(values) for values in sub_oof]
    inputs = scorer._confidence_inputs(main, subs, items, dense[:, -4:])
    ranges = np.array([item.max_score - item.min_score for item in items])
    lows = np.array([item.min_score for item in items])
    if integer_scores:
        # Exactly right on short scales; within 5% of the range on long ones (ASAP 0-60), where an
        # exact match is too rare to learn from.
        tolerance = np.maximum(0.5, 0.05 * ranges)
        right = np.abs(np.round(lows + main * ranges) - np.round(lows + fractions * ranges)) <= tolerance
    else:
        right = np.abs(main - fractions) <= 0.1
    if right.all() or not right.any():
        scorer.confidence_intercept = 3.0 if right.all() else -3.0
    else:
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(inputs, right)
        scorer.confidence_coef = model.coef_[0]
        scorer.confidence_intercept = float(model.intercept_[0])
    scorer.info["cv_accuracy"] = float(right.mean())
    return scorer
