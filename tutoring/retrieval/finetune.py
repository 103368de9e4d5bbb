"""Fine-tuning the embedding model on a course's own question -> passage pairs.

``encoder_finetune(pairs, base=..., output=...)`` trains a transformers encoder (mean pooling,
unit length: what ``eduai.ml.encoder.Encoder`` serves) contrastively: each question against its
own passage, the other passages of the batch, and one hard negative per question (drawn from the
passages the current model ranks highest, re-scored every ``refresh_every`` steps). On a CPU only
the top ``trainable_layers`` layers are trained: the frozen layers' outputs are computed once and
cached, so an epoch costs a fraction of a full forward and backward pass. The result is a model
directory (safetensors, tokenizer, ``retrieval.json`` with a recalibrated relevance threshold)
that the model registry can hold as a ``ModelVersion`` for task ``embedding`` with a course scope
(``encoder_register``). Pass training pairs only: never the questions you will evaluate on.
"""

import json
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import OFF_TOPIC_PROBES, relevance_threshold_map
from .embedding import RELEVANCE_THRESHOLD

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneSettings:
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 5e-5
    trainable_layers: int = 6  # all of MiniLM-L6; fewer trains faster on a busy CPU, and learns less
    temperature: float = 0.05
    hard_negatives: bool = True
    refresh_every: int = 20  # steps between recomputing the corpus vectors hard negatives come from
    max_length: int = 64
    seed: int = 13
    threads: int = 2


@dataclass(frozen=True)
class FinetuneResult:
    directory: Path
    pairs: int
    passages: int
    seconds: float
    losses: list[float]  # mean loss per epoch


def _load(base: Path) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base, attn_implementation="eager")
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if layers is None or not hasattr(model, "embeddings"):
        raise ValueError(f"{base} is not a BERT-style encoder (embeddings + encoder.layer).")
    return tokenizer, model


class _Cached:
    """The frozen part's output for each text: hidden states (tokens x hidden), unpadded."""

    def __init__(
        self, model: Any, tokenizer: Any, texts: Sequence[str], frozen: int, max_length: int
    ) -> None:
        import torch

        self.states: list[Any] = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        states: dict[int, Any] = {}
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                indices = order[start : start + 64]
                encoded = tokenizer(
                    [texts[i] for i in indices],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                hidden = model.embeddings(
                    input_ids=encoded["input_ids"], token_type_ids=encoded.get("token_type_ids")
                )
                mask = _additive_mask(encoded["attention_mask"], hidden.dtype)
                for layer in model.encoder.layer[:frozen]:
                    hidden = layer(hidden, mask)
                for row, i in enumerate(indices):
                    length = int(encoded["attention_mask"][row].sum())
                    states[i] = hidden[row, :length].clone()
        self.states = [states[i] for i in range(len(texts))]


def _additive_mask(attention_mask: Any, dtype: Any) -> Any:
    import torch

    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _top(model: Any, cached: _Cached, indices: Sequence[int], frozen: int) -> Any:
    """Unit embeddings of cached texts through the trainable layers (with gradients if enabled)."""
    import torch

    rows = [cached.states[i] for i in indices]
    length = max(int(row.shape[0]) for row in rows)
    hidden = torch.zeros(len(rows), length, rows[0].shape[1])
    attention = torch.zeros(len(rows), length)
    for number, row in enumerate(rows):
        hidden[number, : row.shape[0]] = row
        attention[number, : row.shape[0]] = 1
    mask = _additive_mask(attention, hidden.dtype)
    for layer in model.encoder.layer[frozen:]:
        hidden = layer(hidden, mask)
    weights = attention.unsqueeze(-1)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def _embed_all(model: Any, cached: _Cached, indices: Sequence[int], frozen: int) -> np.ndarray:
    import torch

    model.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(indices), 128):
            parts.append(_top(model, cached, indices[start : start + 128], frozen).numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.float32)


def _probe_top_scores(model: Any, probes: _Cached, passages: _Cached, frozen: int) -> np.ndarray:
    """Each off-topic probe's best cosine against the passages."""
    probe_vectors = _embed_all(model, probes, range(len(probes.states)), frozen)
    passage_vectors = _embed_all(model, passages, range(len(passages.states)), frozen)
    top: np.ndarray = (probe_vectors @ passage_vectors.T).max(axis=1)
    return top


def encoder_finetune(
    pairs: Sequence[tuple[str, str]],
    *,
    base: Path,
    output: Path,
    corpus: Sequence[str] = (),
    settings: FinetuneSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> FinetuneResult:
    """Train ``base`` on (question, passage) pairs; write the model directory ``output``.

    ``corpus`` adds passages that only serve as hard negatives (e.g. the rest of the material).
    """
    import torch

    from eduai.ml.storage import atomic_directory

    if len(pairs) < 2:
        raise ValueError("Fine-tuning needs at least two question-passage pairs.")
    settings = settings or FinetuneSettings()
    started = time.perf_counter()
    say = progress or (lambda message: logger.info("%s", message))
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)  # noqa: S311 (shuffling, not secrets)
    torch.set_num_threads(settings.threads)
    tokenizer, model = _load(Path(base))
    layer_count = len(model.encoder.layer)
    frozen = max(0, layer_count - settings.trainable_layers)
    for parameter in model.parameters():
        parameter.requires_grad = False
    trainable = [p for layer in model.encoder.layer[frozen:] for p in layer.parameters()]
    for parameter in trainable:
        parameter.requires_grad = True

    questions = list(dict.fromkeys(question for question, _ in pairs))
    passages = list(dict.fromkeys([passage for _, passage in pairs] + list(corpus)))
    question_index = {text: i for i, text in enumerate(questions)}
    passage_index = {text: i for i, text in enumerate(passages)}
    examples = [(question_index[q], passage_index[p]) for q, p in pairs]
    gold: dict[int, set[int]] = {}
    for q, p in examples:
        gold.setdefault(q, set()).add(p)

    model.eval()
    cached_questions = _Cached(model, tokenizer, questions, frozen, settings.max_length)
    cached_passages = _Cached(model, tokenizer, passages, frozen, settings.max_length)
    cached_probes = _Cached(model, tokenizer, OFF_TOPIC_PROBES, frozen, settings.max_length)
    say(f"cached the {frozen} frozen layers for {len(questions)} questions and {len(passages)} passages")
    base_probe_top = _probe_top_scores(model, cached_probes, cached_passages, frozen)

    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=0.01)
    steps_per_epoch = (len(examples) + settings.batch_size - 1) // settings.batch_size
    total = steps_per_epoch * settings.epochs
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    everything = list(range(len(passages)))
    losses: list[float] = []
    step = 0
    for epoch in range(settings.epochs):
        rng.shuffle(examples)
        epoch_loss = 0.0
        for start in range(0, len(examples), settings.batch_size):
            if step % settings.refresh_every == 0:
                corpus_vectors = torch.from_numpy(_embed_all(model, cached_passages, everything, frozen))
            step += 1
            model.train()
            batch = examples[start : start + settings.batch_size]
            batch_passages = list(dict.fromkeys(p for _, p in batch))
            query_vectors = _top(model, cached_questions, [q for q, _ in batch], frozen)
            if settings.hard_negatives:
                # One hard negative per question: a passage the model ranks high that is not one
                # of the question's own (scored against the refreshed corpus vectors).
                ranked = torch.topk(
                    query_vectors.detach() @ corpus_vectors.T, k=min(len(passages), 8)
                ).indices
                for row, (q, _) in enumerate(batch):
                    candidates = [int(p) for p in ranked[row] if int(p) not in gold[q]]
                    if candidates:
                        batch_passages.append(rng.choice(candidates[:4]))
                batch_passages = list(dict.fromkeys(batch_passages))
            passage_vectors = _top(model, cached_passages, batch_passages, frozen)
            # Every score compares vectors of the same weights (no stale vectors in the loss, which
            # would let the model win by moving all fresh vectors together).
            logits = query_vectors @ passage_vectors.T / settings.temperature
            column = {p: i for i, p in enumerate(batch_passages)}
            for row, (q, p) in enumerate(batch):
                others = [column[o] for o in gold[q] - {p} if o in column]
                logits[row, others] = float("-inf")  # another gold passage of the question is no negative
            targets = torch.tensor([column[p] for _, p in batch])
            loss = torch.nn.functional.cross_entropy(logits, targets)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            epoch_loss += loss.item() * len(batch)
        losses.append(epoch_loss / len(examples))
        say(
            f"epoch {epoch + 1}/{settings.epochs}: loss {losses[-1]:.4f} "
            f"({time.perf_counter() - started:.0f} s)"
        )

    model.eval()
    base_threshold = float(_base_retrieval_config(Path(base)).get("relevance_threshold", RELEVANCE_THRESHOLD))
    threshold = relevance_threshold_map(
        base_threshold, base_probe_top, _probe_top_scores(model, cached_probes, cached_passages, frozen)
    )
    rejected = float(np.mean(base_probe_top < base_threshold))
    say(f"relevance threshold {threshold} (base {base_threshold}: {rejected:.0%} of off-topic probes below)")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    seconds = time.perf_counter() - started
    with atomic_directory(output) as directory:
        model.save_pretrained(directory, safe_serialization=True)
        tokenizer.save_pretrained(directory)
        base_config = _base_retrieval_config(Path(base))
        config = {
            **{k: v for k, v in base_config.items() if k in ("query_prefix", "passage_prefix")},
            "base_model": str(base_config.get("base_model", Path(base).name)),
            "relevance_threshold": threshold,
            "fine_tuned": {
                "pairs": len(pairs),
                "passages": len(passages),
                "settings": asdict(settings),
                "losses": losses,
                "seconds": round(seconds, 1),
            },
        }
        (directory / "retrieval.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return FinetuneResult(output, len(pairs), len(passages), seconds, losses)


def _base_retrieval_config(base: Path) -> dict[str, Any]:
    from .embedding import encoder_config_read

    return encoder_config_read(base)


def encoder_register(
    *, directory: Path, scope: str, promote: bool = True, metrics: dict[str, Any] | None = None
) -> int:
    """Record a fine-tuned encoder as a ModelVersion (task embedding) for ``scope``; its id.

    ``scope`` is e.g. ``course:42``; with ``promote`` it serves that scope from then on (rebuild
    the scope's indexes: vectors of two models are not comparable).
    """
    from eduai.ml.models import ModelVersion
    from eduai.ml.services import model_version_promote, model_version_register

    from .embedding import encoder_config_read

    directory = Path(directory).resolve()
    version = model_version_register(
        task=ModelVersion.Task.EMBEDDING,
        name=directory.name,
        base_model=str(encoder_config_read(directory).get("base_model", "")),
        weights_path=directory,
        scope=scope,
        metrics=metrics,
    )
    if promote:
        model_version_promote(version=version)
    return version.pk


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
