"""Fine-tuning benchmark: how many confirmed grades before a per-assignment scorer helps, and
how fast training runs here. Through the product code of ``eduai/ml/training`` (the trainers
and the gate's QWK), on the public datasets of ../shared/data/README.md.

    nice -n 10 .venv/bin/python bench/finetune_benchmarks.py [--data DIR] [--folds 0] [--sizes 30,100,300]

(a) ASAP-AES learning curve: per prompt, with the NEA split's fold k: the cold-start scorer, and
    per-assignment scorers trained on the first N (seeded shuffle) essays of train_ids for each
    N in --sizes ("ridge": the grading app's scorer, the product default; "head": the
    checkpointed torch head on frozen encoder features), QWK on test_ids with predictions
    rounded to the prompt's integer scores; the mean over prompts.
(b) Training throughput (samples/s) of the head and LoRA trainers on this machine.
The essays' embeddings are cached under var/grading_bench/ (shared with grading_benchmarks.py).
Nothing from the datasets enters the repository. Results go in docs/benchmarks.md.
"""

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.base")
os.environ.setdefault("DEBUG", "true")
# Its own SQLite file (the runtime's model registry only): never the embedded default's data.
os.environ["DATABASE_URL"] = f"sqlite:///{PROJECT_ROOT / 'var' / 'finetune_bench.sqlite3'}"

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from eduai.ml.training.evaluation import grading_qwk  # noqa: E402
from eduai.ml.training.grading_trainers import train_head, train_ridge  # noqa: E402
from eduai.ml.training.loop import Progress, TrainingContext  # noqa: E402
from grading.scoring import cold_start_scorer, scorer_load  # noqa: E402
from grading.scoring.embeddings import embedding_cache  # noqa: E402

ASAP_RANGES = {1: (2, 12), 2: (1, 6), 3: (0, 3), 4: (0, 3), 5: (0, 4), 6: (0, 4), 7: (0, 30), 8: (0, 60)}
WORK = settings.VAR_DIR / "grading_bench"


def asap_rows(directory: Path) -> dict[str, dict[str, Any]]:
    """Essay id -> training row (the snapshot format). The file has unbalanced quotes: split on TAB."""
    rows = {}
    lines = (directory / "training_set_rel3.utf8.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        fields = dict(zip(header, line.split("\t"), strict=False))
        prompt = int(fields["essay_set"])
        low, high = ASAP_RANGES[prompt]
        rows[fields["essay_id"]] = {
            "id": fields["essay_id"],
            "prompt_id": f"asap{prompt}",
            "question": "",
            "reference_answers": [],
            "rubric": [],
            "answer": fields["essay"].strip(),
            "score": float(fields["domain1_score"]),
            "min_score": float(low),
            "max_score": float(high),
        }
    return rows


def _context(
    directory: Path, config: dict[str, Any], seed: int = 0, checkpoint_every: int = 10_000
) -> TrainingContext:
    return TrainingContext(
        directory=directory,
        seed=seed,
        config=config,
        device=torch.device("cpu"),
        checkpoint_every=checkpoint_every,
    )


def learning_curve(
    data: Path, folds: list[int], sizes: list[int], trainers: list[str], prompts: list[int], test_limit: int
) -> None:
    essays = asap_rows(data)
    results: dict[str, dict[int, list[float]]] = {}
    print(
        "| prompt | fold | train pool | test | cold start | "
        + " | ".join(f"{t} N={n}" for t in trainers for n in sizes)
        + " | seconds |"
    )
    print("|---|---|---|---|---|" + "---|" * (len(trainers) * len(sizes)) + "---|")
    for prompt in prompts:
        for fold in folds:
            started = time.perf_counter()
            ids = {
                part: (data / f"folds/fold_{fold}/{part}_ids.txt").read_text().split()
                for part in ("train", "test")
            }
            pool = [
                essays[i] for i in ids["train"] if i in essays and essays[i]["prompt_id"] == f"asap{prompt}"
            ]
            test = [
                essays[i] for i in ids["test"] if i in essays and essays[i]["prompt_id"] == f"asap{prompt}"
            ]
            random.Random(fold * 100 + prompt).shuffle(pool)
            if test_limit:
                test = test[:test_limit]
            cells = []
            cold = grading_qwk(cold_start_scorer(), test)
            results.setdefault("cold", {}).setdefault(0, []).append(cold)
            for trainer in trainers:
                for size in sizes:
                    rows = pool[:size]
                    with tempfile.TemporaryDirectory() as work:
                        output = Path(work) / "scorer"
                        context = _context(Path(work) / "ckpt", {"epochs": 60, "hidden": 64})
                        if trainer == "ridge":
                            train_ridge(rows, output, context)
                        else:
                            train_head(rows, output, context)
                        qwk = grading_qwk(scorer_load(output), test)
                    results.setdefault(trainer, {}).setdefault(size, []).append(qwk)
                    cells.append(f"{qwk:.3f}")
            seconds = time.perf_counter() - started
            print(
                f"| P{prompt} | {fold} | {len(pool)} | {len(test)} | {cold:.3f} | "
                + " | ".join(cells)
                + f" | {seconds:.0f} |",
                flush=True,
            )
    means = [f"{np.mean(results['cold'][0]):.3f}"] + [
        f"{np.mean(results[t][n]):.3f}" for t in trainers for n in sizes
    ]
    print("| **mean** | | | | " + " | ".join(means) + " | |")
    for trainer in trainers:
        for size in sizes:
            above = sum(q > c for q, c in zip(results[trainer][size], results["cold"][0], strict=True))
            print(
                f"{trainer} N={size}: above cold start on {above}/{len(results[trainer][size])} prompt-folds"
            )


def throughput(data: Path, prompt: int) -> None:
    essays = list(asap_rows(data).values())
    rows = [row for row in essays if row["prompt_id"] == f"asap{prompt}"][:256]
    steps: list[float] = []

    def report(progress: Progress) -> None:
        steps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as work:
        context = _context(Path(work) / "ckpt", {"epochs": 20, "batch_size": 32, "hidden": 64})
        context.report = report
        train_head(rows, Path(work) / "out", context)  # features first (cached embeddings)
    seconds = steps[-1] - steps[0]
    samples = (len(steps) - 1) * 32
    print(
        f"head trainer (CPU, batch 32, hidden 64): {samples / seconds:.0f} samples/s "
        f"({len(steps)} steps in {seconds:.2f} s, features excluded)"
    )

    from eduai.ml.services import bundled_model_ensure
    from eduai.ml.training.tutor_trainer import train_lora

    base = Path(bundled_model_ensure(task="generation").weights_path)
    pairs = [
        {
            "id": str(i),
            "type": "pair",
            "question": f"Question {i}: what is osmosis?",
            "answer": "Osmosis is the diffusion of water across a semipermeable membrane.",
        }
        for i in range(24)
    ]
    lora_steps: list[float] = []
    with tempfile.TemporaryDirectory() as work:
        context = _context(Path(work) / "ckpt", {"epochs": 1, "batch_size": 4, "max_length": 64})
        context.report = lambda progress: lora_steps.append(time.perf_counter())
        started = time.perf_counter()
        train_lora(pairs, Path(work) / "out", context, base=base, base_name=base.name)
        total = time.perf_counter() - started
    seconds = lora_steps[-1] - lora_steps[0]
    print(
        f"LoRA trainer on {base.name} (CPU float32, rank 8, batch 4, 64 tokens): "
        f"{(len(lora_steps) - 1) * 4 / seconds:.1f} samples/s "
        f"({len(lora_steps)} steps; {total:.0f} s with load+merge)"
    )


def _obqa(path: Path, limit: int) -> list[dict[str, Any]]:
    import json

    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][:limit]


def _choice_losses(model: Any, tokenizer: Any, prompt: str, choices: list[str]) -> list[float]:
    """Mean token loss of each answer choice after the prompt (lower: the model prefers it)."""
    from eduai.ml.training.tutor_trainer import encode_pairs

    encoded = encode_pairs(tokenizer, [(prompt, choice) for choice in choices], 192)
    length = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(encoded), length), pad, dtype=torch.long)
    attention = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, _) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
    losses = []
    for row, (ids, start) in enumerate(encoded):
        targets = torch.tensor(ids[start:])
        predicted = logits[row, start - 1 : len(ids) - 1]
        losses.append(float(torch.nn.functional.cross_entropy(predicted, targets)))
    return losses


def openbookqa(
    data: Path,
    train_limit: int,
    dev_limit: int,
    *,
    listed: bool,
    epochs: int,
    modules: list[str],
    learning_rate: float,
    work: Path | None,
) -> None:
    """Base vs LoRA-tuned generator on OpenBookQA dev, with the top-3 retrieved facts.

    With ``listed`` the question lists its four choices (as a student pastes a multiple-choice
    question); either way the model's answer is the choice whose tokens it finds likeliest.
    With ``work`` the run checkpoints there every 25 steps and resumes from its checkpoint when
    started again (a run longer than a session), and the tuned model is kept in ``work/out``: a
    run that finds it there only evaluates it.
    """
    from eduai.ml import runtime
    from eduai.ml.services import bundled_model_ensure
    from eduai.ml.training.tutor_trainer import load_causal_lm, train_lora

    facts = [
        line.strip().strip('"') for line in (data / "openbook.txt").read_text().splitlines() if line.strip()
    ]
    fact_vectors = runtime.embed(facts)

    def prompt(item: dict[str, Any]) -> str:
        stem = item["question"]["stem"]
        top = np.argsort(-(fact_vectors @ runtime.embed([stem])[0]))[:3]
        text = "Facts:\n" + "\n".join(f"- {facts[i]}" for i in top) + f"\nQuestion: {stem}"
        if listed:
            text += "\nChoices: " + "; ".join(c["text"] for c in item["question"]["choices"])
        return text

    def answer(item: dict[str, Any]) -> str:
        return str(next(c["text"] for c in item["question"]["choices"] if c["label"] == item["answerKey"]))

    train = _obqa(data / "train_complete.jsonl", train_limit)
    dev = _obqa(data / "dev_complete.jsonl", dev_limit)
    base = Path(bundled_model_ensure(task="generation").weights_path)
    dev_prompts = [prompt(item) for item in dev]

    def accuracy(directory: Path) -> float:
        model, tokenizer = load_causal_lm(directory, torch.device("cpu"))
        model.eval()
        right = 0
        for item, text in zip(dev, dev_prompts, strict=True):
            choices = [c["text"] for c in item["question"]["choices"]]
            losses = _choice_losses(model, tokenizer, text, choices)
            right += int(choices[int(np.argmin(losses))] == answer(item))
        return right / len(dev)

    started = time.perf_counter()
    base_accuracy = accuracy(base)
    print(f"base {100 * base_accuracy:.1f}% ({time.perf_counter() - started:.0f} s)", flush=True)
    rows = [
        {"id": item["id"], "type": "pair", "question": prompt(item), "answer": answer(item)} for item in train
    ]
    config = {
        "epochs": epochs,
        "batch_size": 8,
        "max_length": 256,
        "target_modules": modules,
        "learning_rate": learning_rate,
    }

    def report(progress: Progress) -> None:
        if progress.step % 25 == 0 or progress.step == progress.total_steps:
            print(
                # Progress.epoch counts from 0 and its loss is this step's (not a running mean).
                f"  step {progress.step}/{progress.total_steps}, epoch {progress.epoch + 1}, step loss "
                f"{progress.loss if progress.loss is None else round(progress.loss, 3)}, "
                f"ETA {progress.eta_seconds} s",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as temporary:
        directory = work or Path(temporary)
        output = directory / "out"
        trained_started = time.perf_counter()
        if (output / "config.json").exists():
            metrics: dict[str, Any] = {"kept": str(output)}
        else:
            context = _context(directory / "ckpt", config, checkpoint_every=25 if work else 10_000)
            context.report = report
            metrics = train_lora(rows, output, context, base=base, base_name=base.name).metrics
        train_seconds = time.perf_counter() - trained_started
        tuned_accuracy = accuracy(output)
    shown = "question and its choices" if listed else "question stem"
    print(
        f"OpenBookQA dev (first {len(dev)}), top-3 retrieved facts, {shown}, choice by answer-token "
        f"loss: base {100 * base_accuracy:.1f}%, LoRA-tuned ({', '.join(modules)}; {epochs} epoch(s), "
        f"learning rate {learning_rate:g}; training metrics {metrics}) "
        f"on the first {len(train)} train questions {100 * tuned_accuracy:.1f}% "
        f"({train_seconds:.0f} s training; {time.perf_counter() - started:.0f} s total)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "grading" / "asap_aes"
    )
    parser.add_argument("--folds", default="0")
    parser.add_argument("--sizes", default="30,100,300")
    parser.add_argument("--trainers", default="ridge,head")
    parser.add_argument("--prompts", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--test-limit", type=int, default=0, help="first N test essays per prompt (0: all)")
    parser.add_argument("--skip-curve", action="store_true")
    parser.add_argument("--openbookqa", type=Path, default=None, help="OpenBookQA directory: run only that")
    parser.add_argument("--obqa-train", type=int, default=400)
    parser.add_argument("--obqa-dev", type=int, default=200)
    parser.add_argument(
        "--obqa-format",
        choices=["choices", "stem"],
        default="choices",
        help="the question with its choices listed, or the stem alone",
    )
    parser.add_argument("--obqa-epochs", type=int, default=1)
    parser.add_argument("--obqa-learning-rate", type=float, default=2e-4, help="LoRA learning rate")
    parser.add_argument(
        "--obqa-modules", default="q_proj,k_proj,v_proj,o_proj", help="the LoRA target modules"
    )
    parser.add_argument(
        "--obqa-work",
        type=Path,
        default=None,
        help="keep checkpoints (every 25 steps; a new run resumes) and the tuned model here",
    )
    options = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()},"
        f" torch {torch.__version__}, data {options.data}"
    )
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if options.openbookqa:
        openbookqa(
            options.openbookqa,
            options.obqa_train,
            options.obqa_dev,
            listed=options.obqa_format == "choices",
            epochs=options.obqa_epochs,
            learning_rate=options.obqa_learning_rate,
            modules=options.obqa_modules.split(","),
            work=options.obqa_work,
        )
        return
    with embedding_cache(WORK):
        throughput(options.data, int(options.prompts.split(",")[0]))
        if not options.skip_curve:
            learning_curve(
                options.data,
                [int(f) for f in options.folds.split(",")],
                [int(n) for n in options.sizes.split(",")],
                options.trainers.split(","),
                [int(p) for p in options.prompts.split(",")],
                options.test_limit,
            )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
