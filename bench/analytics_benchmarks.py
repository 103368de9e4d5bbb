"""Analytics benchmark: the product's knowledge tracing and at-risk models on public datasets,
by the standard protocols of ../shared/data/README.md, in one run.

    .venv/bin/python bench/analytics_benchmarks.py [DATA_DIR]    # about 1-2 minutes on 2 CPU cores

DATA_DIR (default ../shared/data/analytics/ from the project root) holds
assist2009/builder_{train,test}.csv and oulad_subset/; nothing is copied into the repository.
(a) ASSISTments 2009, DKT split: AUC and RMSE of next-response correctness, each BKT variant;
(b) OULAD, Fail vs Pass, train 2013J, test 2014J: AUC per cutoff day.
Results go in docs/benchmarks.md with the machine.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from analytics.knowledge_tracing_evaluation import VARIANTS, evaluate  # noqa: E402
from analytics.oulad import oulad_evaluate, oulad_read  # noqa: E402
from analytics.response_logs import response_log_read  # noqa: E402

CUTOFFS = (0, 30, 60, 90, 120, 150)


def knowledge_tracing_table(directory: Path) -> None:
    train = response_log_read(directory / "builder_train.csv", "dkt3")
    test = response_log_read(directory / "builder_test.csv", "dkt3")
    print(f"\nASSISTments 2009 (DKT split): train {len(train)} responses, test {len(test)}")
    print("| BKT variant | AUC | RMSE | seconds |\n|---|---|---|---|")
    for variant in VARIANTS:
        started = time.perf_counter()
        scores = evaluate(train, test, variant)
        print(f"| {variant} | {scores.auc:.4f} | {scores.rmse:.4f} | {time.perf_counter() - started:.1f} |")


def at_risk_table(directory: Path) -> None:
    started = time.perf_counter()
    scores = oulad_evaluate(oulad_read(directory), CUTOFFS)
    elapsed = time.perf_counter() - started
    print(f"\nOULAD at-risk, Fail vs Pass: train {scores[0].train} (2013J), test {scores[0].test} (2014J)")
    print("| cutoff day | " + " | ".join(str(score.cutoff) for score in scores) + " |")
    print("|---|" + "---|" * len(scores))
    print("| AUC | " + " | ".join(f"{score.auc:.4f}" for score in scores) + " |")
    print(f"({elapsed:.1f} s for all cutoffs)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data", nargs="?", type=Path, default=PROJECT_ROOT.parent / "shared" / "data" / "analytics"
    )
    directory = parser.parse_args().data
    print(
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, data {directory}"
    )
    knowledge_tracing_table(directory / "assist2009")
    at_risk_table(directory / "oulad_subset")


if __name__ == "__main__":
    main()
