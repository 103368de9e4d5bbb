"""The resumable training loop shared by the trainers.

A run's data order depends only on its seed and the epoch (a fresh ``torch.Generator`` per
epoch), and a checkpoint holds the trainable weights, the optimizer state, the global RNG
states (dropout) and the step. A run resumed from a checkpoint therefore takes exactly the
steps the uninterrupted run would have taken and ends with the same weights.

On CUDA the loss runs under autocast (bfloat16, or float16 with a gradient scaler) and
``accumulation`` micro-batches add up to one optimizer step.
"""

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_FILE = "checkpoint.pt"


class TrainingCancelledError(Exception):
    """An admin cancelled the run; the loop stops at its next progress report."""


class TrainingLostError(Exception):
    """Another worker took the run over (this one was presumed dead): stop without writing."""


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    epoch: int
    loss: float | None
    checkpoint_step: int
    eta_seconds: int | None


@dataclass
class TrainingContext:
    """What a trainer gets from the run: where to write, the seed, hyper-parameters, callbacks."""

    directory: Path
    seed: int
    config: dict[str, Any]
    device: torch.device
    checkpoint_every: int
    report: Callable[[Progress], None] = field(default=lambda progress: None)
    log: Callable[[str], None] = field(default=lambda message: None)
    # Tests and benchmarks: stop (as a crash would) right after this step's checkpoint.
    stop_after_step: int | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.directory / CHECKPOINT_FILE


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _rng_restore(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_save(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically: a crash mid-write leaves the previous one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.part-{os.getpid()}")
    torch.save(payload, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def checkpoint_load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    return payload


@dataclass
class LoopSpec:
    """One training loop: the rows to go through, how a micro-batch's loss is computed, and the
    trainable state (``state`` / ``load_state`` save only what trains, e.g. LoRA weights)."""

    size: int
    epochs: int
    batch_size: int
    accumulation: int
    loss: Callable[[list[int]], torch.Tensor]
    parameters: list[torch.nn.Parameter]
    state: Callable[[], dict[str, torch.Tensor]]
    load_state: Callable[[dict[str, torch.Tensor]], None]
    learning_rate: float
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    fingerprint: dict[str, Any] = field(default_factory=dict)

    @property
    def micro_batches(self) -> int:
        return math.ceil(self.size / self.batch_size)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.micro_batches / self.accumulation)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def _epoch_order(seed: int, epoch: int, size: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return [int(index) for index in torch.randperm(size, generator=generator)]


def _autocast(device: torch.device) -> tuple[Any, torch.amp.GradScaler | None]:
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False), None
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), None
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")


def run_loop(spec: LoopSpec, context: TrainingContext) -> dict[str, Any]:
    """Train (resuming from the context's checkpoint when there is one); returns loop metrics."""
    if spec.size == 0:
        raise ValueError("There are no training rows.")
    optimizer = torch.optim.AdamW(spec.parameters, lr=spec.learning_rate, weight_decay=spec.weight_decay)
    _, scaler = _autocast(context.device)
    step = 0
    losses: list[float] = []
    saved = checkpoint_load(context.checkpoint_path)
    if saved is not None:
        if saved.get("fingerprint") != spec.fingerprint:
            raise ValueError("The checkpoint belongs to other data or settings; delete it to start over.")
        spec.load_state(saved["state"])
        optimizer.load_state_dict(saved["optimizer"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        _rng_restore(saved["rng"])
        step = int(saved["step"])
        losses = list(saved["losses"])
        context.log(f"resumed from the checkpoint at step {step} of {spec.total_steps}")
    else:
        seed_everything(context.seed)
    checkpoint_step = step
    started, started_step = time.monotonic(), step

    def save(at: int) -> None:
        checkpoint_save(
            context.checkpoint_path,
            {
                "step": at,
                "state": {key: value.detach().cpu().clone() for key, value in spec.state().items()},
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": _rng_state(),
                "losses": losses,
                "fingerprint": spec.fingerprint,
            },
        )

    while step < spec.total_steps:
        epoch, position = divmod(step, spec.steps_per_epoch)
        order = _epoch_order(context.seed, epoch, spec.size)
        batches = [order[i : i + spec.batch_size] for i in range(0, spec.size, spec.batch_size)]
        group = batches[position * spec.accumulation : (position + 1) * spec.accumulation]
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        weight = sum(len(batch) for batch in group)
        for batch in group:
            autocast, _ = _autocast(context.device)
            with autocast:
                loss = spec.loss(batch) * (len(batch) / weight)
            (scaler.scale(loss) if scaler is not None else loss).backward()  # type: ignore[no-untyped-call]
            total += float(loss.detach())
        if scaler is not None:
            scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(spec.parameters, spec.max_grad_norm)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        step += 1
        losses.append(total)
        if step % context.checkpoint_every == 0 or step == spec.total_steps:
            save(step)
            checkpoint_step = step
        elapsed = time.monotonic() - started
        rate = (step - started_step) / elapsed if elapsed > 0 else 0.0
        eta = int((spec.total_steps - step) / rate) if rate > 0 else None
        context.report(Progress(step, spec.total_steps, epoch, total, checkpoint_step, eta))
        if (
            context.stop_after_step is not None
            and step >= context.stop_after_step
            and checkpoint_step == step
        ):
            raise TrainingLostError(f"stopped after step {step} (requested)")
    tail = losses[-spec.steps_per_epoch :] or [float("nan")]
    return {"steps": spec.total_steps, "final_train_loss": round(float(np.mean(tail)), 6)}
