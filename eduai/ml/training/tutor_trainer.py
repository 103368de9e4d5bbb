"""LoRA fine-tuning of the tutor generator on endorsed and corrected answers (``peft``).

The base is the production generation model's transformers directory. Only the LoRA weights
train (and are checkpointed, with the optimizer and RNG state); the result is merged into the
base and saved as a plain transformers directory, so the runtime serves it like any version.
The loss is the answer tokens' cross-entropy (the prompt's tokens are masked out). Snapshots
also hold the students' ratings of tutor answers (``type: preference``); this trainer uses only
the endorsed and corrected pairs, the ratings wait for a preference-optimisation trainer.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from transformers import AutoModelForCausalLM, AutoTokenizer

from eduai.ml.storage import atomic_directory

from .grading_trainers import Trained
from .loop import LoopSpec, TrainingContext, run_loop

# The configuration the OpenBookQA benchmark validated (docs/benchmarks.md, "Fine-tuning"): rank 8
# on all seven linear projections at 5e-4, batches of 8 (attention only, or 2e-4, did not beat the
# base). Two epochs: a course's endorsed answers are a few hundred pairs, not thousands.
LORA_DEFAULTS: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 8,
    "accumulation": 1,
    "rank": 8,
    "alpha": 16,
    "dropout": 0.05,
    "learning_rate": 5e-4,
    "weight_decay": 0.0,
    "max_length": 256,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
SYSTEM_PROMPT = "You are a course tutor. Answer the student's question from the course material."


def chat_messages(question: str, answer: str | None = None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


def encode_pairs(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int
) -> list[tuple[list[int], int]]:
    """Token ids of each prompt+answer and where the answer starts (prompt tokens are not trained)."""
    encoded = []
    for question, answer in pairs:
        prompt = tokenizer.apply_chat_template(
            chat_messages(question), add_generation_prompt=True, tokenize=False
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (prompt_ids + answer_ids)[:max_length]
        encoded.append((ids, min(len(prompt_ids), len(ids) - 1)))
    return encoded


def batch_loss(
    model: Any, encoded: Sequence[tuple[list[int], int]], pad_id: int, device: torch.device
) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens of a batch (right-padded)."""
    length = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), length), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), length), -100, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, start) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, start : len(ids)] = torch.tensor(ids[start:])
        attention[row, : len(ids)] = 1
    output = model(
        input_ids=input_ids.to(device), attention_mask=attention.to(device), labels=labels.to(device)
    )
    loss: torch.Tensor = output.loss
    return loss


def load_causal_lm(directory: Path, device: torch.device) -> tuple[Any, Any]:
    tokenizer = AutoTokenizer.from_pretrained(directory)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model: Any = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    return model.to(device), tokenizer


def pairs_of(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["question"], row["answer"]) for row in rows if row.get("type") == "pair"]


def train_lora(
    rows: Sequence[dict[str, Any]], output: Path, context: TrainingContext, *, base: Path, base_name: str
) -> Trained:
    config = {**LORA_DEFAULTS, **context.config}
    torch.manual_seed(context.seed)
    model, tokenizer = load_causal_lm(base, context.device)
    lora = LoraConfig(
        r=int(config["rank"]),
        lora_alpha=int(config["alpha"]),
        lora_dropout=float(config["dropout"]),
        target_modules=list(config["target_modules"]),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    model.train()
    peft_model: Any = model
    pairs = pairs_of(rows)
    encoded = encode_pairs(tokenizer, pairs, int(config["max_length"]))

    def loss(batch: list[int]) -> torch.Tensor:
        return batch_loss(model, [encoded[index] for index in batch], tokenizer.pad_token_id, context.device)

    spec = LoopSpec(
        size=len(encoded),
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        accumulation=int(config["accumulation"]),
        loss=loss,
        parameters=[parameter for parameter in model.parameters() if parameter.requires_grad],
        state=lambda: get_peft_model_state_dict(model),
        load_state=lambda state: set_peft_model_state_dict(model, state),
        learning_rate=float(config["learning_rate"]),
        weight_decay=float(config["weight_decay"]),
        fingerprint={
            "trainer": "lora",
            "rows": [row["id"] for row in rows],
            "config": config,
            "base": base_name,
        },
    )
    metrics = run_loop(spec, context)
    merged = peft_model.merge_and_unload()
    with atomic_directory(output) as partial:
        merged.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
    return Trained(directory=output, metrics={**metrics, "lora_rank": lora.r}, base_model=base_name)
