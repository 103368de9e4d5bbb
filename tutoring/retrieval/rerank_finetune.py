"""Training a course's re-ranker (a cross-encoder) on its question -> passage pairs.

``reranker_finetune(pairs, base=..., encoder=..., output=...)`` starts from a BERT-style model
(best the course's own fine-tuned encoder, which already relates its questions to its passages;
the one-output head is new) and trains it listwise: each question reads its own passage and
``group - 1`` passages that the course's encoder ranks highest but are not its own (the
negatives a re-ranker actually meets, less the very top ones, often paraphrases of the right
one), and a softmax over the group is pulled toward the right one. Then it chooses how many of
the index's passages to read (``depth``) and how much the re-ranker's score counts (``weight``) by
recall@5 on held-out pairs (``tune_pairs``, or every ``tune_share``-th question by hash), writes
both to ``rerank.json`` with the training record, and saves the model directory, which
``reranker_register`` records as a ``ModelVersion`` of task ``reranking`` for a scope.
Pass training pairs only: never the questions you will evaluate on.
"""

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .rerank import RERANK_CONFIG, rerank_order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankFinetuneSettings:
    epochs: int = 1
    questions_per_step: int = 8
    group: int = 8  # the question's passage and 7 negatives
    negatives_from: int = 30  # negatives are drawn from the encoder's top passages
    # ... after skipping its best few that are not the question's own: near the top, many are
    # as right as the gold passage (paraphrases of the same fact), and would teach the wrong thing.
    skip_negatives: int = 2
    learning_rate: float = 4e-5
    max_length: int = 96
    depths: tuple[int, ...] = (10, 20, 30)
    weights: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    tune_share: int = 10  # without tune_pairs, 1 question in this many is held out for tuning
    seed: int = 13
    threads: int = 2


@dataclass(frozen=True)
class RerankFinetuneResult:
    directory: Path
    pairs: int
    tuned_on: int
    depth: int
    weight: float
    recall_at_5: tuple[float, float]  # on the tuning questions: encoder alone, then re-ranked
    seconds: float
    losses: list[float]


def _held_out(question: str, share: int) -> bool:
    return int(hashlib.sha256(question.encode()).hexdigest(), 16) % share == 0


def _ranked(
    encoder: Path, questions: Sequence[str], passages: Sequence[str], depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each question's ``depth`` best passages by the encoder (positions, cosines), best first."""
    import torch

    from eduai.ml.encoder import Encoder

    from .embedding import encoder_config_read

    config = encoder_config_read(encoder)
    model = Encoder(encoder, torch.device("cpu"))
    passage_vectors = model.embed([str(config.get("passage_prefix", "")) + p for p in passages])
    query_vectors = model.embed([str(config.get("query_prefix", "")) + q for q in questions])
    scores = query_vectors @ passage_vectors.T
    depth = min(depth, len(passages))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return order, np.take_along_axis(scores, order, axis=1)


def _recall_at_5(orders: Sequence[np.ndarray], gold: Sequence[set[int]]) -> float:
    return float(np.mean([bool(g & set(order[:5].tolist())) for order, g in zip(orders, gold, strict=True)]))


def reranker_finetune(
    pairs: Sequence[tuple[str, str]],
    *,
    base: Path,
    encoder: Path,
    output: Path,
    corpus: Sequence[str] = (),
    tune_pairs: Sequence[tuple[str, str]] = (),
    settings: RerankFinetuneSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> RerankFinetuneResult:
    """Train a cross-encoder on (question, passage) pairs; write the model directory ``output``.

    ``encoder`` is the model directory whose ranking the re-ranker will re-order (the course's
    production encoder); ``corpus`` adds passages that only serve as negatives.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from eduai.ml.storage import atomic_directory

    settings = settings or RerankFinetuneSettings()
    if settings.group < 2 or settings.negatives_from < settings.group - 1:
        raise ValueError("A group needs at least one negative, drawn from at least group - 1 passages.")
    started = time.perf_counter()
    say = progress or (lambda message: logger.info("%s", message))
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)  # noqa: S311 (sampling, not secrets)
    torch.set_num_threads(settings.threads)
    if not tune_pairs and len(pairs) >= 2 * settings.tune_share:
        tune_pairs = [pair for pair in pairs if _held_out(pair[0], settings.tune_share)]
        pairs = [pair for pair in pairs if not _held_out(pair[0], settings.tune_share)]
    if len(pairs) < 2:
        raise ValueError("Training a re-ranker needs at least two question-passage pairs.")
    passages = list(dict.fromkeys([p for _, p in pairs] + [p for _, p in tune_pairs] + list(corpus)))
    if len(passages) < settings.group:
        raise ValueError(f"Training a re-ranker needs at least {settings.group} distinct passages.")
    position = {text: i for i, text in enumerate(passages)}
    gold: dict[str, set[int]] = {}
    for question, passage in [*pairs, *tune_pairs]:
        gold.setdefault(question, set()).add(position[passage])
    questions = list(dict.fromkeys(q for q, _ in pairs))
    tune_questions = list(dict.fromkeys(q for q, _ in tune_pairs))
    deepest = max((*settings.depths, settings.skip_negatives + settings.negatives_from + 1))
    order, cosines = _ranked(Path(encoder), questions + tune_questions, passages, deepest)
    say(f"ranked {len(passages)} passages for {len(questions)} + {len(tune_questions)} questions")

    groups: list[tuple[str, int, list[int]]] = []
    for row, question in enumerate(questions):
        negatives = [int(p) for p in order[row] if int(p) not in gold[question]][
            settings.skip_negatives : settings.skip_negatives + settings.negatives_from
        ]
        if len(negatives) >= settings.group - 1:
            groups.extend((question, p, negatives) for p in sorted(gold[question]))
    if not groups:
        raise ValueError(
            f"No question has {settings.group - 1} passages to learn against: "
            "add material or lower the group."
        )
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    total = max(
        1, (len(groups) + settings.questions_per_step - 1) // settings.questions_per_step * settings.epochs
    )
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    losses: list[float] = []
    for epoch in range(settings.epochs):
        rng.shuffle(groups)
        model.train()
        epoch_loss = 0.0
        for start in range(0, len(groups), settings.questions_per_step):
            batch = groups[start : start + settings.questions_per_step]
            firsts, seconds_texts = [], []
            for question, own, negatives in batch:
                chosen = [own, *rng.sample(negatives, settings.group - 1)]
                firsts += [question] * settings.group
                seconds_texts += [passages[p] for p in chosen]
            encoded = tokenizer(
                firsts,
                seconds_texts,
                padding=True,
                truncation="only_second",
                max_length=settings.max_length,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.view(len(batch), settings.group)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            epoch_loss += loss.item() * len(batch)
        losses.append(epoch_loss / max(1, len(groups)))
        say(
            f"epoch {epoch + 1}/{settings.epochs}: loss {losses[-1]:.4f} "
            f"({time.perf_counter() - started:.0f} s)"
        )

    model.eval()
    depth, weight = max(settings.depths), 1.0
    before = after = 0.0
    if tune_questions:
        offset = len(questions)
        tune_gold = [gold[q] for q in tune_questions]
        reranked = np.zeros((len(tune_questions), min(deepest, len(passages))), dtype=np.float32)
        with torch.inference_mode():
            for row, question in enumerate(tune_questions):
                candidates = [passages[int(p)] for p in order[offset + row]]
                encoded = tokenizer(
                    [question] * len(candidates), candidates, padding=True, truncation="only_second",
                    max_length=settings.max_length, return_tensors="pt",
                )  # fmt: skip
                reranked[row] = model(**encoded).logits.view(-1).numpy()
        before = _recall_at_5([order[offset + row] for row in range(len(tune_questions))], tune_gold)
        best = (-1.0, 0.0)
        for candidate_depth in settings.depths:
            for candidate_weight in settings.weights:
                orders = [
                    order[offset + row][:candidate_depth][
                        rerank_order(
                            cosines[offset + row][:candidate_depth],
                            reranked[row][:candidate_depth],
                            candidate_weight,
                        )
                    ]
                    for row in range(len(tune_questions))
                ]
                recall = _recall_at_5(orders, tune_gold)
                # Ties go to the shallower, lighter choice (cheaper to serve, less to go wrong).
                if recall > best[0] + 1e-9:
                    best, depth, weight = (recall, candidate_weight), candidate_depth, candidate_weight
        after = best[0]
        say(
            f"tuned on {len(tune_questions)} questions: depth {depth}, weight {weight}: "
            f"recall@5 {before:.3f} -> {after:.3f}"
        )

    seconds = time.perf_counter() - started
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(output) as directory:
        model.save_pretrained(directory, safe_serialization=True)
        tokenizer.save_pretrained(directory)
        config: dict[str, Any] = {
            "depth": depth,
            "weight": weight,
            "base_model": Path(base).name,
            "encoder": Path(encoder).name,
            "tuned_on": len(tune_questions),
            "recall_at_5_tuning": {"encoder": round(before, 4), "reranked": round(after, 4)},
            "fine_tuned": {
                "pairs": len(pairs),
                "passages": len(passages),
                "settings": asdict(settings),
                "losses": losses,
                "seconds": round(seconds, 1),
            },
        }
        (directory / RERANK_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return RerankFinetuneResult(
        output, len(pairs), len(tune_questions), depth, weight, (before, after), seconds, losses
    )
