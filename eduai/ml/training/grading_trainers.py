"""Trainers of per-assignment grading scorers, and the scorer the torch trainer produces.

- ``ridge``: the grading app's own per-assignment scorer (``grading.scoring.
  assignment_scorer_train``); it trains in seconds, so its run is one step, and the saved scorer
  is what the grading app loads.
- ``head``: a small MLP on frozen encoder features (the answer's embedding, its product with the
  references' mean embedding, and similarities), trained with AdamW in the resumable loop;
  on CUDA with mixed precision and gradient accumulation. Saved as scorer kind ``neural_head``.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from eduai.ml import runtime
from eduai.ml.storage import atomic_directory

from .loop import LoopSpec, TrainingContext, run_loop

HEAD_KIND = "neural_head"
HEAD_FORMAT_VERSION = 1
HEAD_DEFAULTS: dict[str, Any] = {
    "epochs": 30,
    "batch_size": 8,
    "accumulation": 1,
    "hidden": 64,
    "dropout": 0.1,
    "learning_rate": 3e-3,
    "weight_decay": 0.01,
}


def _items(rows: Sequence[dict[str, Any]]) -> list[Any]:
    from grading.scoring import GradingItem

    return [
        GradingItem(
            prompt_id=row["prompt_id"],
            question=row["question"],
            reference_answers=tuple(row["reference_answers"]),
            rubric=tuple(row["rubric"]),
            answer=row["answer"],
            min_score=row["min_score"],
            max_score=row["max_score"],
            item_id=row["id"],
        )
        for row in rows
    ]


def _embed(texts: list[str]) -> np.ndarray:
    """Through the grading app's embedding helper (the runtime, with its optional cache)."""
    try:
        from grading.scoring.embeddings import embed_texts
    except ImportError:
        return runtime.embed(texts)
    return np.asarray(embed_texts(texts), dtype=np.float32)


def head_features(items: Sequence[Any]) -> np.ndarray:
    """Per item: answer embedding, its product with the mean reference (or question) embedding,
    max cosine to a reference, cosine to the question, and log length."""
    texts = sorted(
        {item.answer or " " for item in items}
        | {item.question or " " for item in items}
        | {text for item in items for text in item.reference_answers}
    )
    vectors = dict(zip(texts, _embed(texts), strict=True))
    rows = []
    for item in items:
        answer = vectors[item.answer or " "]
        question = vectors[item.question or " "]
        references = np.stack([vectors[text] for text in item.reference_answers or (item.question or " ",)])
        extra = [
            float((references @ answer).max()),
            float(question @ answer),
            math.log1p(len(item.answer.split())) / 6,
        ]
        rows.append(
            np.concatenate([answer, answer * references.mean(axis=0), np.array(extra, dtype=np.float32)])
        )
    return np.asarray(rows, dtype=np.float32)


def _head(inputs: int, hidden: int, dropout: float) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden),
        torch.nn.GELU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, 1),
    )


@dataclass
class HeadScorer:
    """Implements the grading ``Scorer`` protocol (``predict``, ``save``)."""

    network: torch.nn.Sequential
    config: dict[str, Any]
    kind: str = HEAD_KIND

    def fractions(self, items: Sequence[Any]) -> np.ndarray:
        self.network.eval()
        with torch.no_grad():
            raw = self.network(torch.from_numpy(head_features(items))).squeeze(-1)
        return torch.sigmoid(raw).numpy()

    def predict(self, items: Sequence[Any]) -> list[Any]:
        from grading.scoring.criteria import fraction_predictions

        if not items:
            return []
        return fraction_predictions(items, [float(fraction) for fraction in self.fractions(items)])

    def save(self, directory: Path) -> None:
        with atomic_directory(Path(directory)) as partial:
            meta = {"kind": HEAD_KIND, "format_version": HEAD_FORMAT_VERSION, "config": self.config}
            (partial / "scorer.json").write_text(json.dumps(meta))
            save_file(
                {key: value.contiguous() for key, value in self.network.state_dict().items()},
                str(partial / "head.safetensors"),
            )

    @classmethod
    def load(cls, directory: Path) -> "HeadScorer":
        meta = json.loads((Path(directory) / "scorer.json").read_text())
        if meta.get("kind") != HEAD_KIND or meta.get("format_version") != HEAD_FORMAT_VERSION:
            raise ValueError(
                f"{directory} does not hold a {HEAD_KIND} scorer of format {HEAD_FORMAT_VERSION}."
            )
        config = meta["config"]
        network = _head(config["inputs"], config["hidden"], config["dropout"])
        network.load_state_dict(load_file(str(Path(directory) / "head.safetensors")))
        return cls(network=network.eval(), config=config)


@dataclass(frozen=True)
class Trained:
    directory: Path
    metrics: dict[str, Any]
    base_model: str


def train_head(rows: Sequence[dict[str, Any]], output: Path, context: TrainingContext) -> Trained:
    config = {**HEAD_DEFAULTS, **context.config}
    items = _items(rows)
    features = torch.from_numpy(head_features(items))
    targets = torch.tensor(
        [item.fraction(row["score"]) for item, row in zip(items, rows, strict=True)], dtype=torch.float32
    )
    torch.manual_seed(context.seed)
    network = _head(features.shape[1], int(config["hidden"]), float(config["dropout"])).to(context.device)
    features, targets = features.to(context.device), targets.to(context.device)
    network.train()

    def loss(batch: list[int]) -> torch.Tensor:
        predicted = torch.sigmoid(network(features[batch]).squeeze(-1).float())
        return torch.nn.functional.mse_loss(predicted, targets[batch])

    spec = LoopSpec(
        size=len(items),
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        accumulation=int(config["accumulation"]),
        loss=loss,
        parameters=list(network.parameters()),
        state=network.state_dict,
        load_state=network.load_state_dict,
        learning_rate=float(config["learning_rate"]),
        weight_decay=float(config["weight_decay"]),
        fingerprint={"trainer": "head", "rows": [row["id"] for row in rows], "config": config},
    )
    metrics = run_loop(spec, context)
    scorer = HeadScorer(network=network.cpu().eval(), config={**config, "inputs": int(features.shape[1])})
    scorer.save(output)
    encoder = runtime.encoder().__class__.__name__
    return Trained(directory=output, metrics=metrics, base_model=f"head on frozen {encoder} features")


def train_ridge(rows: Sequence[dict[str, Any]], output: Path, context: TrainingContext) -> Trained:
    from grading.scoring import assignment_scorer_train

    items = _items(rows)
    scorer = assignment_scorer_train(items, [row["score"] for row in rows])
    scorer.save(output)
    context.log(f"trained the grading app's ridge scorer on {len(items)} confirmed grades")
    return Trained(directory=output, metrics={"steps": 1}, base_model="grading ridge scorer")


def train_finetune(rows: Sequence[dict[str, Any]], output: Path, context: TrainingContext) -> Trained:
    """Full fine-tuning of the encoder (the grading app's ``finetune_scorer_train``; for GPU
    hosts). It checkpoints nothing itself: a run that dies starts this step again."""
    from grading.scoring.finetune import finetune_scorer_train

    items = _items(rows)
    options = {
        key: context.config[key] for key in ("epochs", "batch_size", "learning_rate") if key in context.config
    }
    scorer = finetune_scorer_train(
        items, [row["score"] for row in rows], device=str(context.device), seed=context.seed, **options
    )
    scorer.save(output)
    context.log(f"fine-tuned the encoder on {len(items)} confirmed grades")
    return Trained(directory=output, metrics={"steps": 1}, base_model="fine-tuned encoder")
