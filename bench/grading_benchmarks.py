"""Grading benchmark: the product's scorers on public datasets, by the standard protocols of
../shared/data/README.md, through the same code as ``manage.py grading_eval``.

    nice -n 10 .venv/bin/python bench/grading_benchmarks.py [--data DATA_DIR] [asap|semeval|all]
    .venv/bin/python bench/grading_benchmarks.py fit-cold-start     # regenerates the cold-start parameters
    .venv/bin/python bench/grading_benchmarks.py asap --full-finetune [--limit N]

DATA_DIR (default ../shared/data/grading/ from the project root) holds asap_aes/ and
semeval2013_task7/; the converted CSVs and the embeddings are kept under var/grading_bench/ (not
committed), so a second run skips the encoder. Nothing from the datasets enters the repository.

(a) ASAP-AES, 8 prompts, 5 folds (NEA split): one per-assignment scorer per prompt and fold,
    trained on train_ids (hyper-parameters by 5-fold cross-validation inside train_ids; dev_ids
    unused), QWK on test_ids with predictions rounded to the prompt's valid integers, averaged
    over folds, then the mean over prompts; and the same for the most-confident half of each
    prompt's test answers.
(b) SemEval-2013 Task 7, SciEntsBank: labels become scores (2-way: correct 1, incorrect 0;
    3-way: correct 2, incorrect 1, contradictory 0, the contradictory answer being the furthest
    from the reference), the rounded predicted score becomes the label again. Unseen answers:
    one per-assignment scorer per question trained on the train split's answers to it; unseen
    questions and unseen domains: the cold-start model (its parameters were fitted on the train
    split only). Accuracy and macro-F1 per test split.
``fit-cold-start`` fits the cold-start model on the SciEntsBank train split (2-way) and writes
grading/scoring/cold_start_params.json. Results go in docs/benchmarks.md with the machine.
"""

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections import defaultdict
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.base")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from grading.scoring.assignment import assignment_scorer_train  # noqa: E402
from grading.scoring.cold_start import PARAMS_FILE, cold_start_fit, cold_start_scorer  # noqa: E402
from grading.scoring.embeddings import embedding_cache  # noqa: E402
from grading.scoring.evaluation import COLUMNS, csv_read, evaluate  # noqa: E402
from grading.scoring.finetune import finetune_scorer_train  # noqa: E402
from grading.scoring.metrics import accuracy, macro_f1  # noqa: E402

ASAP_RANGES = {1: (2, 12), 2: (1, 6), 3: (0, 3), 4: (0, 3), 5: (0, 4), 6: (0, 4), 7: (0, 30), 8: (0, 60)}
LABELS_2WAY = {"correct": 1, "incorrect": 0}
LABELS_3WAY = {"correct": 2, "incorrect": 1, "contradictory": 0}
WORK = settings.VAR_DIR / "grading_bench"


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


# -- ASAP-AES ---------------------------------------------------------------------------------
def asap_essays(directory: Path) -> dict[str, dict[str, object]]:
    """Essay id -> CSV row. The file has unbalanced quotes: split on TAB, no CSV quoting."""
    essays = {}
    lines = (directory / "training_set_rel3.utf8.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        fields = dict(zip(header, line.split("\t"), strict=False))
        prompt = int(fields["essay_set"])
        low, high = ASAP_RANGES[prompt]
        essays[fields["essay_id"]] = {
            "prompt_id": f"asap{prompt}",
            "item_id": fields["essay_id"],
            "question": "",
            "reference_answer": "",
            "rubric": "",
            "answer": fields["essay"].strip(),
            "score": fields["domain1_score"],
            "min_score": low,
            "max_score": high,
        }
    return essays


def asap_fold_files(directory: Path, fold: int) -> tuple[Path, Path]:
    essays = asap_essays(directory) if not (WORK / f"asap/fold_{fold}/test.csv").exists() else {}
    paths = []
    for part in ("train", "test"):
        target = WORK / f"asap/fold_{fold}/{part}.csv"
        if not target.exists():
            ids = (directory / f"folds/fold_{fold}/{part}_ids.txt").read_text().split()
            _write(target, [essays[essay_id] for essay_id in ids if essay_id in essays])
        paths.append(target)
    return paths[0], paths[1]


def _fold_log(fold: int, message: str) -> None:
    print(f"  fold {fold} {message}", flush=True)


def _limited(rows: list[Any], limit: int) -> list[Any]:
    """The first ``limit`` rows of each prompt (a tiny subset, to try --full-finetune on a CPU)."""
    kept: dict[str, int] = defaultdict(int)
    result = []
    for row in rows:
        if kept[row.item.prompt_id] < limit:
            kept[row.item.prompt_id] += 1
            result.append(row)
    return result


def asap_benchmark(
    directory: Path,
    folds: list[int],
    prompts: set[str] | None,
    *,
    finetune: bool = False,
    limit: int = 0,
    epochs: int = 4,
) -> None:
    qwk: dict[str, list[float]] = defaultdict(list)
    confident: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    scored = 0
    for fold in folds:
        train_path, test_path = asap_fold_files(directory, fold)
        train = csv_read(train_path, require_scores=True)
        test = csv_read(test_path, require_scores=True)
        if prompts:
            train = [row for row in train if row.item.prompt_id in prompts]
            test = [row for row in test if row.item.prompt_id in prompts]
        if limit:
            train, test = _limited(train, limit), _limited(test, limit)
        options: dict[str, Any] = {}
        if finetune:
            options = {
                "trainer": lambda items, scores: finetune_scorer_train(items, scores, epochs=epochs),
                "trainer_name": "fine-tuned encoder",
            }
        with embedding_cache(WORK / "embeddings-asap"):
            result = evaluate(
                train,
                test,
                log=partial(_fold_log, fold),
                **options,
            )
        scored += result.items
        for prompt in result.prompts:
            qwk[prompt.prompt_id].append(prompt.qwk)
            confident[prompt.prompt_id].append(prompt.confident_qwk)
    elapsed = time.perf_counter() - started
    names = sorted(qwk, key=lambda name: int(name.removeprefix("asap")))
    print(f"\nASAP-AES, folds {folds}: QWK on test_ids (mean over folds)")
    print("| | " + " | ".join(name.removeprefix("asap") for name in names) + " | mean |")
    print("|---|" + "---|" * (len(names) + 1))
    for label, table in (("QWK", qwk), ("most-confident 50% QWK", confident)):
        values = [float(np.mean(table[name])) for name in names]
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in values) + f" | **{np.mean(values):.4f}** |")
    print(f"({elapsed:.0f} s, {scored} essays scored, train + predict)")


# -- SemEval-2013 ------------------------------------------------------------------------------
def semeval_files(directory: Path, labels: dict[str, int], way: str) -> dict[str, Path]:
    records = [
        row
        for row in csv.DictReader((directory / "semeval2013_flat.csv").open(encoding="utf-8"))
        if row["dataset"] == "sciEntsBank"
    ]
    by_split: dict[str, list[dict[str, object]]] = defaultdict(list)
    for record in records:
        by_split[record["split"]].append(
            {
                "prompt_id": record["question_id"],
                "item_id": record["answer_id"],
                "question": record["question"],
                "reference_answer": record["reference_answers"],
                "rubric": "",
                "answer": record["answer"],
                "score": labels[record[f"label_{way}"]],
                "min_score": 0,
                "max_score": max(labels.values()),
            }
        )
    return {split: _write(WORK / f"semeval/{way}/{split}.csv", rows) for split, rows in by_split.items()}


def semeval_benchmark(directory: Path) -> None:
    print("\nSemEval-2013 Task 7, SciEntsBank (train split -> each test split)")
    print("| labels | test split | scorer | accuracy | macro-F1 | answers | seconds |")
    print("|---|---|---|---|---|---|---|")
    for way, labels in (("3way", LABELS_3WAY), ("2way", LABELS_2WAY)):
        names = {score: label for label, score in labels.items()}
        files = semeval_files(directory / "semeval2013_task7", labels, way)
        train = csv_read(files["train"], require_scores=True)
        for split in ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains"):
            test = csv_read(files[split], require_scores=True)
            with embedding_cache(WORK / "embeddings"):
                result = evaluate(train, test)
            truth = [names[int(row.score or 0)] for row in test]
            predicted = [names[int(result.predictions[row.item.item_id][0])] for row in test]
            scorers = "/".join(sorted({prompt.model for prompt in result.prompts}))
            print(
                f"| {way} | {split.removeprefix('test-')} | {scorers} | {accuracy(truth, predicted):.4f} | "
                f"**{macro_f1(truth, predicted):.4f}** | {len(test)} | {result.seconds:.0f} |",
                flush=True,
            )


def throughput(directory: Path) -> None:
    """Short answers scored per second by each scorer, embeddings not cached (as in the worker)."""
    files = semeval_files(directory / "semeval2013_task7", LABELS_2WAY, "2way")
    train = csv_read(files["train"], require_scores=True)
    test = csv_read(files["test-unseen-answers"], require_scores=True)
    prompt = test[0].item.prompt_id
    graded = [row for row in train if row.item.prompt_id == prompt]
    with embedding_cache(WORK / "embeddings"):
        assignment = assignment_scorer_train([r.item for r in graded], [float(r.score or 0) for r in graded])
    # Fresh answers the encoder has not seen: each test answer with a suffix.
    items = [replace(row.item, answer=f"{row.item.answer} ({index})") for index, row in enumerate(test[:256])]
    print("\nThroughput, short answers (SciEntsBank), embeddings computed (not cached):")
    for name, scorer in (("cold start", cold_start_scorer()), ("per-assignment", assignment)):
        scorer.predict(items[:8])  # warm
        started = time.perf_counter()
        scorer.predict(items)
        elapsed = time.perf_counter() - started
        print(f"  {name}: {len(items)} answers in {elapsed:.1f} s = {len(items) / elapsed:.1f} answers/s")


def fit_cold_start(directory: Path) -> None:
    files = semeval_files(directory / "semeval2013_task7", LABELS_2WAY, "2way")
    train = csv_read(files["train"], require_scores=True)
    with embedding_cache(WORK / "embeddings"):
        scorer = cold_start_fit([row.item for row in train], [float(row.score or 0) for row in train])
    scorer.info = {
        "trained_on": "SemEval-2013 Task 7 SciEntsBank train split, 2-way labels (correct 1, incorrect 0)",
        "trained_answers": len(train),
        "script": "python bench/grading_benchmarks.py fit-cold-start",
    }
    partial = PARAMS_FILE.with_name(PARAMS_FILE.name + ".part")
    partial.write_text(json.dumps(scorer.parameters(), indent=1) + "\n")
    partial.replace(PARAMS_FILE)
    print(f"wrote {PARAMS_FILE} from {len(train)} answers")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "what", nargs="?", default="all", choices=("all", "asap", "semeval", "throughput", "fit-cold-start")
    )
    parser.add_argument("--data", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "grading")
    parser.add_argument("--folds", default="0,1,2,3,4", help="ASAP folds to run (default all five)")
    parser.add_argument("--prompts", default="", help="ASAP prompts to run, e.g. 1,2 (default all)")
    parser.add_argument(
        "--full-finetune", action="store_true", help="ASAP: fine-tune the encoder per prompt (for GPU hosts)"
    )
    parser.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs (default 4)")
    parser.add_argument(
        "--limit", type=int, default=0, help="ASAP: use only the first N essays of each prompt"
    )
    arguments = parser.parse_args()
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        call_command("migrate", verbosity=0)  # the embedded default: the runtime's model registry
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, data {arguments.data}",
        flush=True,
    )
    if arguments.what == "fit-cold-start":
        fit_cold_start(arguments.data)
        return
    if arguments.what in ("all", "semeval"):
        semeval_benchmark(arguments.data)
    if arguments.what in ("all", "throughput"):
        throughput(arguments.data)
    if arguments.what in ("all", "asap"):
        prompts = {f"asap{p}" for p in arguments.prompts.split(",") if p} or None
        asap_benchmark(
            arguments.data / "asap_aes",
            [int(f) for f in arguments.folds.split(",")],
            prompts,
            finetune=arguments.full_finetune,
            limit=arguments.limit,
            epochs=arguments.epochs,
        )


if __name__ == "__main__":
    main()
