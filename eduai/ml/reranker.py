"""Relevance scores of (question, passage) pairs with a transformers cross-encoder.

A cross-encoder reads the question and the passage together (one sequence-classification model
with a single output), so it sees which words of each answer which of the other: slower than
comparing two embeddings, so it re-orders only the few passages the index ranked highest.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .devices import dtype_for


class Reranker:
    """Scores passages for one question; higher means more relevant (a logit, not calibrated)."""

    def __init__(self, directory: Path, device: torch.device) -> None:
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForSequenceClassification.from_pretrained(directory, dtype=dtype_for(device))
        if int(model.config.num_labels) != 1:
            raise ValueError(
                f"{directory} is not a cross-encoder (it has {model.config.num_labels} outputs, not 1)."
            )
        self.model = model.to(device).eval()

    @torch.inference_mode()
    def score(
        self, question: str, passages: Sequence[str], *, batch_size: int = 32, max_length: int = 256
    ) -> np.ndarray:
        scores = np.empty(len(passages), dtype=np.float32)
        for start in range(0, len(passages), batch_size):
            batch = list(passages[start : start + batch_size])
            encoded = self.tokenizer(
                [question] * len(batch),
                batch,
                padding=True,
                truncation="only_second",
                max_length=max_length,
                return_tensors="pt",
            ).to(self.device)
            logits = self.model(**encoded).logits.view(-1).float()
            scores[start : start + len(batch)] = logits.cpu().numpy()
        return scores
