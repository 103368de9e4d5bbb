"""Sentence embeddings with a transformers encoder (all-MiniLM-L6-v2 by default)."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from .devices import dtype_for, empty_accelerator_cache


class Encoder:
    """Embeds texts in length-sorted, dynamically padded batches; mean pooling, unit length."""

    def __init__(self, directory: Path, device: torch.device) -> None:
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = AutoModel.from_pretrained(directory, dtype=dtype_for(device)).to(device).eval()
        self.dimension = int(self.model.config.hidden_size)

    def embed(
        self, texts: Sequence[str], *, batch_size: int | None = None, max_length: int = 256
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # On a CPU, batches beyond a few 256-token texts spill the caches and get slower per text
        # (measured: 8 beat 32); a GPU wants them large.
        batch_size = batch_size or (8 if self.device.type == "cpu" else 64)
        # Sorting by length keeps each batch's padding (wasted compute) small.
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = [texts[index] for index in indices]
            vectors[indices] = self._embed_batch_with_oom_retry(batch, max_length)
        return vectors

    def _embed_batch_with_oom_retry(self, batch: list[str], max_length: int) -> np.ndarray:
        try:
            return self._embed_batch(batch, max_length)
        except torch.cuda.OutOfMemoryError:
            # Once: free the cache and go again in halves; a second failure is a real error.
            empty_accelerator_cache(self.device)
            middle = max(1, len(batch) // 2)
            halves = [batch[:middle], batch[middle:]]
            return np.concatenate([self._embed_batch(half, max_length) for half in halves if half])

    @torch.inference_mode()
    def _embed_batch(self, batch: list[str], max_length: int) -> np.ndarray:
        encoded = self.tokenizer(
            batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        encoded = encoded.to(self.device)
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        normalised = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return normalised.cpu().numpy()
