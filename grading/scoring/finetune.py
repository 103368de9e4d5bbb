"""Full fine-tuning of the transformer encoder per prompt (``--full-finetune``; meant for GPU hosts).

The runtime's production embedding model (by default the bundled all-MiniLM-L6-v2) is copied
from its model files, given a regression head on its mean-pooled output, and trained end to end
with AdamW on the confirmed grades (mean squared error on the 0..1 share of the score range).
Short answers with reference answers are encoded as the pair (first reference, answer). On a
CPU this runs too, slowly: the tests run it on a tiny fixture.
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
from transformers import AutoModel, AutoTokenizer

from eduai.ml.storage import atomic_directory, verify_checksum

from .criteria import fraction_predictions
from .storage import FORMAT_VERSION, META_FILE
from .types import GradingItem, ScorePrediction, ScoringError

KIND = "finetuned"


def _encoder_directory() -> Path:
    from eduai.ml.models import ModelVersion
    from eduai.ml.selectors import model_version_production
    from eduai.ml.services import bundled_model_ensure

    version = model_version_production(task=ModelVersion.Task.EMBEDDING) or bundled_model_ensure(
        task=ModelVersion.Task.EMBEDDING
    )
    path = Path(version.weights_path)
    verify_checksum(path, version.sha256)
    return path


def _device(preference: str | None) -> torch.device:
    from eduai.ml.devices import select_device

    return select_device(preference)


@dataclass
class FinetunedScorer:
    model: Any
    tokenizer: Any
    head: torch.nn.Linear
    max_length: int
    info: dict[str, Any]
    kind: str = KIND

    def _encode(self, items: Sequence[GradingItem], device: torch.device) -> Any:
        answers = [item.answer or " " for item in items]
        if all(item.reference_answers for item in items):
            firsts = [item.reference_answers[0] for item in items]
            return self.tokenizer(
                firsts,
                answers,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(device)
        return self.tokenizer(
            answers, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(device)

    def _forward(self, encoded: Any) -> torch.Tensor:
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.sigmoid(self.head(pooled).squeeze(-1))

    def fractions(self, items: Sequence[GradingItem], *, batch_size: int = 16) -> np.ndarray:
        device = next(self.model.parameters()).device
        self.model.eval()
        self.head.eval()
        values = []
        with torch.inference_mode():
            for start in range(0, len(items), batch_size):
                encoded = self._encode(items[start : start + batch_size], device)
                values.append(self._forward(encoded).float().cpu().numpy())
        return np.concatenate(values) if values else np.zeros(0)

    def predict(self, items: Sequence[GradingItem]) -> list[ScorePrediction]:
        return fraction_predictions(items, [float(fraction) for fraction in self.fractions(items)])

    def save(self, directory: Path) -> None:
        with atomic_directory(Path(directory)) as partial:
            self.model.save_pretrained(partial / "encoder", safe_serialization=True)
            self.tokenizer.save_pretrained(partial / "encoder")
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()},
                str(partial / "head.safetensors"),
            )
            meta = {
                "format_version": FORMAT_VERSION,
                "kind": KIND,
                "max_length": self.max_length,
                "info": self.info,
            }
            (partial / META_FILE).write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> "FinetunedScorer":
        device = _device(None)
        model = AutoModel.from_pretrained(directory / "encoder").to(device)
        tokenizer = AutoTokenizer.from_pretrained(directory / "encoder")
        head = torch.nn.Linear(int(model.config.hidden_size), 1)
        head.load_state_dict(load_file(str(directory / "head.safetensors")))
        return cls(
            model=model,
            tokenizer=tokenizer,
            head=head.to(device),
            max_length=int(meta["max_length"]),
            info=dict(meta.get("info", {})),
        )


def finetune_scorer_train(
    items: Sequence[GradingItem],
    scores: Sequence[float],
    *,
    epochs: int = 4,
    batch_size: int = 16,
    learning_rate: float = 4e-5,
    max_length: int = 256,
    device: str | None = None,
    seed: int = 13,
) -> FinetunedScorer:
    """Fine-tune a copy of the runtime's encoder with a regression head on confirmed grades."""
    if len(items) != len(scores) or len(items) < 2:
        raise ScoringError("Fine-tuning needs at least 2 graded answers, one score each.")
    torch.manual_seed(seed)
    chosen = _device(device)
    directory = _encoder_directory()
    model = AutoModel.from_pretrained(directory).to(chosen)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    head = torch.nn.Linear(int(model.config.hidden_size), 1).to(chosen)
    targets = torch.tensor(
        [item.fraction(s) for item, s in zip(items, scores, strict=True)], dtype=torch.float32
    )
    with torch.no_grad():  # start the head at the mean score
        head.weight.zero_()
        mean = float(targets.mean().clamp(0.01, 0.99))
        head.bias.fill_(math.log(mean / (1 - mean)))
    scorer = FinetunedScorer(
        model=model,
        tokenizer=tokenizer,
        head=head,
        max_length=max_length,
        info={"trained_answers": len(items), "epochs": epochs, "base": directory.name},
    )
    parameters = [*model.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(
        [
            {"params": list(model.parameters()), "lr": learning_rate},
            {"params": list(head.parameters()), "lr": learning_rate * 20},
        ],
        weight_decay=0.01,
    )
    steps = max(1, epochs * math.ceil(len(items) / batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / steps))
    generator = np.random.default_rng(seed)
    use_amp = chosen.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    losses = []
    for _ in range(epochs):
        model.train()
        head.train()
        order = generator.permutation(len(items))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = scorer._encode([items[i] for i in batch], chosen)
            with torch.autocast(chosen.type, enabled=use_amp):
                predicted = scorer._forward(encoded)
            loss = torch.nn.functional.mse_loss(predicted.float(), targets[batch].to(chosen))
            optimizer.zero_grad()
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            losses.append(float(loss.detach()))
    scorer.info["final_loss"] = float(np.mean(losses[-max(1, len(losses) // epochs) :]))
    return scorer
