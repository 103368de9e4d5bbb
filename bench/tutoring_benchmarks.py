"""Tutoring retrieval benchmark: OpenBookQA through the product's ``manage.py kb_eval``.

    DEBUG=true .venv/bin/python bench/tutoring_benchmarks.py [DATA_DIR] [--skip-finetune]
        [--only base|finetuned] [--epochs N] [--reranker-epochs N]

DATA_DIR (default ../shared/data/tutoring/openbookqa/ from the project root) holds openbook.txt
(1,326 facts: the course material, one document per line) and {train,dev}_complete.jsonl
(question stem -> gold fact ``fact1``). Nothing is copied into the repository; derived files go
under var/bench/tutoring/ and the fine-tuned encoder under var/models/ (both gitignored).

1. Questions: dev (500) is only ever evaluated. Train questions whose stem also occurs in dev are
   dropped; the rest is split by a hash of the id: 90% fine-tune the encoder, 10% tune the fusion.
2. Base encoder (the bundled all-MiniLM-L6-v2): dense, BM25 and hybrid recall@1/5/10 and MRR,
   the hybrid's fusion tuned on the 10% train split.
3. ``encoder_finetune`` on the 90% train split's question -> fact pairs (cached by a hash of the
   pairs and settings; --skip-finetune reuses the newest cached one), then the same evaluation
   with the fine-tuned encoder served through the model runtime.
4. With --reranker-epochs: a cross-encoder (``reranker_finetune``) trained on the same pairs,
   its negatives from the fine-tuned encoder's ranking, its depth and weight tuned on the 10%
   split; the fine-tuned evaluation then adds the hybrid re-ranked by it.
Results go in docs/benchmarks.md with the machine. Heavy: run with ``nice -n 10``; on 2 busy CPU
cores it takes from 10 minutes (cached encoder) to about an hour.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from io import StringIO
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.base")
os.environ.setdefault("DEBUG", "true")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tutoring.retrieval.evaluation import normalise  # noqa: E402
from tutoring.retrieval.finetune import FinetuneSettings, encoder_finetune  # noqa: E402
from tutoring.retrieval.rerank_finetune import RerankFinetuneSettings, reranker_finetune  # noqa: E402

WORK = PROJECT_ROOT / "var" / "bench" / "tutoring"
TUNE_SHARE = 10  # 1 in 10 train questions tunes the fusion; the others fine-tune the encoder


def _record(row: dict[str, Any]) -> dict[str, Any]:
    question = row["question"]
    stem = question["stem"] if isinstance(question, dict) else question
    return {"id": row["id"], "question": stem, "gold_passages": [row["fact1"]]}


def prepare(data: Path) -> tuple[Path, Path, list[tuple[str, str]], list[str]]:
    """Write dev and the fusion-tuning split as kb_eval JSONL; the fine-tuning pairs; the facts."""
    WORK.mkdir(parents=True, exist_ok=True)
    dev = [_record(json.loads(line)) for line in (data / "dev_complete.jsonl").open(encoding="utf-8")]
    dev_stems = {normalise(str(row["question"])) for row in dev}
    train = [_record(json.loads(line)) for line in (data / "train_complete.jsonl").open(encoding="utf-8")]
    kept = [row for row in train if normalise(str(row["question"])) not in dev_stems]
    tune = [
        row for row in kept if int(hashlib.sha256(str(row["id"]).encode()).hexdigest(), 16) % TUNE_SHARE == 0
    ]
    tune_ids = {row["id"] for row in tune}
    pairs = [(row["question"], row["gold_passages"][0]) for row in kept if row["id"] not in tune_ids]
    dev_path, tune_path = WORK / "dev.jsonl", WORK / "train_fusion.jsonl"
    for path, rows in ((dev_path, dev), (tune_path, tune)):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    facts = [
        line.strip().strip('"') for line in (data / "openbook.txt").open(encoding="utf-8") if line.strip()
    ]
    print(
        f"dev {len(dev)} questions; train {len(train)}, of which {len(train) - len(kept)} dropped "
        f"(stem also in dev), {len(pairs)} fine-tune the encoder, {len(tune)} tune the fusion"
    )
    return dev_path, tune_path, pairs, facts


def kb_eval(
    title: str, data: Path, dev: Path, tune: Path, encoder: Path | None = None, reranker: Path | None = None
) -> None:
    print(f"\n## {title}")
    arguments = [
        "--materials", str(data / "openbook.txt"), "--one-document-per-line",
        "--questions", str(dev), "--tune-on", str(tune),
    ]  # fmt: skip
    if encoder is not None:
        arguments += ["--encoder", str(encoder)]
    if reranker is not None:
        arguments += ["--reranker", str(reranker)]
    output = StringIO()
    started = time.perf_counter()
    call_command("kb_eval", *arguments, stdout=output)
    print(output.getvalue().rstrip())
    print(f"({time.perf_counter() - started:.0f} s)")


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


def _trained_once(directory: Path, what: str, train: Callable[[], float]) -> Path:
    """``directory`` if a model is already there, else ``train()`` writes it (seconds taken)."""
    if (directory / "config.json").is_file():
        print(f"\n{what}: cached in {directory}")
        return directory
    print(f"\n{what} ...")
    print(f"trained in {train():.0f} s: {directory}")
    return directory


def finetuned_encoder(
    pairs: list[tuple[str, str]], facts: list[str], *, reuse: bool, epochs: int | None = None
) -> Path:
    base = Path(settings.EDUAI_ENCODER_MODEL)
    options = FinetuneSettings() if epochs is None else FinetuneSettings(epochs=epochs)
    key = hashlib.sha256(json.dumps([pairs, facts, asdict(options), base.name]).encode()).hexdigest()[:12]
    models = Path(settings.EDUAI_MODEL_CACHE_DIR)
    directory = models / f"tutoring-openbookqa-{key}"
    if reuse and not directory.exists():
        cached = sorted(models.glob("tutoring-openbookqa-*"), key=lambda p: p.stat().st_mtime)
        directory = cached[-1] if cached else directory
    return _trained_once(
        directory,
        f"fine-tuning {base.name} on {len(pairs)} pairs ({options})",
        lambda: (
            encoder_finetune(
                pairs, base=base, output=directory, corpus=facts, settings=options, progress=_say
            ).seconds
        ),
    )


def trained_reranker(
    pairs: list[tuple[str, str]], tune: Path, facts: list[str], encoder: Path, *, epochs: int
) -> Path:
    """A cross-encoder trained on the encoder's pairs (its negatives from the encoder's ranking),
    its depth and weight tuned on the fusion-tuning questions; cached like the encoder. It starts
    from the fine-tuned encoder's weights (one epoch from the bundled encoder's re-ranked worse
    than the encoder alone: recall@5 0.712 vs 0.764)."""
    base = encoder
    tune_pairs = [
        (str(row["question"]), str(row["gold_passages"][0]))
        for row in map(json.loads, tune.read_text(encoding="utf-8").splitlines())
    ]
    options = RerankFinetuneSettings(epochs=epochs)
    key = hashlib.sha256(
        json.dumps([pairs, tune_pairs, facts, asdict(options), encoder.name]).encode()
    ).hexdigest()[:12]
    directory = Path(settings.EDUAI_MODEL_CACHE_DIR) / f"tutoring-openbookqa-reranker-{key}"
    return _trained_once(
        directory,
        f"training a re-ranker from {base.name} on {len(pairs)} pairs ({options})",
        lambda: (
            reranker_finetune(
                pairs,
                base=base,
                encoder=encoder,
                output=directory,
                corpus=facts,
                tune_pairs=tune_pairs,
                settings=options,
                progress=_say,
            ).seconds
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=PROJECT_ROOT.parent / "shared" / "data" / "tutoring" / "openbookqa",
    )
    parser.add_argument(
        "--skip-finetune", action="store_true", help="reuse the newest cached fine-tuned encoder"
    )
    parser.add_argument("--only", choices=["base", "finetuned"], help="run one of the two evaluations")
    parser.add_argument("--epochs", type=int, help="fine-tuning epochs (default: FinetuneSettings)")
    parser.add_argument(
        "--reranker-epochs",
        type=int,
        default=0,
        help="also train a re-ranker for this many epochs and evaluate the re-ranked hybrid",
    )
    arguments = parser.parse_args()
    data = arguments.data
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, data {data}")
    dev, tune, pairs, facts = prepare(data)
    if arguments.only != "finetuned":
        kb_eval("bundled encoder (all-MiniLM-L6-v2)", data, dev, tune)
    if arguments.only != "base":
        encoder = finetuned_encoder(pairs, facts, reuse=arguments.skip_finetune, epochs=arguments.epochs)
        if arguments.reranker_epochs:
            reranker = trained_reranker(pairs, tune, facts, encoder, epochs=arguments.reranker_epochs)
            kb_eval(f"fine-tuned encoder ({encoder.name}) + re-ranker", data, dev, tune, encoder, reranker)
        else:
            kb_eval(f"fine-tuned encoder ({encoder.name})", data, dev, tune, encoder)


if __name__ == "__main__":
    main()
