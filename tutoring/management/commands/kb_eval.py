"""Retrieval quality of the product's chunking, embeddings and hybrid index on a question set."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tutoring.retrieval.chunking import DEFAULT_MAX_TOKENS
from tutoring.retrieval.embedding import encoder_directory_scope, encoder_settings
from tutoring.retrieval.evaluation import (
    EvaluationInputError,
    documents_read,
    kb_evaluate,
    normalise,
    questions_read,
)
from tutoring.retrieval.index import DEFAULT_FUSION, Fusion
from tutoring.retrieval.rerank import reranker_directory_scope, reranker_settings


class Command(BaseCommand):
    help = (
        "Chunk and index --materials as the tutor does, retrieve for each question of --questions "
        '(JSONL: {"id", "question", "gold_passages": [...]}; a hit is a chunk containing a gold '
        "passage) and print recall@1/5/10, MRR and the chunk-size distribution."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--materials", type=Path, required=True, help="a material file or a directory")
        parser.add_argument(
            "--questions", type=Path, required=True, help="JSONL questions with gold passages"
        )
        parser.add_argument(
            "--one-document-per-line", action="store_true", help="each non-empty line is its own document"
        )
        parser.add_argument(
            "--encoder", type=Path, help="a transformers encoder directory (default: the site-wide encoder)"
        )
        parser.add_argument(
            "--reranker",
            type=Path,
            help="a re-ranker directory (from reranker_finetune): also score the hybrid re-ranked by it",
        )
        parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="chunk size limit")
        parser.add_argument(
            "--tune-on",
            type=Path,
            help="JSONL training questions to tune the fusion on first (never the evaluated ones)",
        )
        parser.add_argument("--fusion", choices=["weighted", "rrf"], default=DEFAULT_FUSION.method)
        parser.add_argument("--dense-weight", type=float, default=DEFAULT_FUSION.dense_weight)
        parser.add_argument("--rrf-k", type=int, default=DEFAULT_FUSION.rrf_k)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["max_tokens"] < 8:
            raise CommandError("--max-tokens must be at least 8.")
        if not 0 <= options["dense_weight"] <= 1:
            raise CommandError("--dense-weight must be between 0 and 1.")
        try:
            documents = documents_read(
                options["materials"], one_document_per_line=options["one_document_per_line"]
            )
            questions = questions_read(options["questions"])
            tune = questions_read(options["tune_on"]) if options["tune_on"] else []
            scope = encoder_directory_scope(options["encoder"]) if options["encoder"] else ""
            reranker = (
                reranker_settings(scope=reranker_directory_scope(options["reranker"]))
                if options["reranker"]
                else None
            )
        except (EvaluationInputError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        evaluated = {normalise(question.question) for question in questions}
        overlap = [question for question in tune if normalise(question.question) in evaluated]
        if overlap:
            tune = [question for question in tune if normalise(question.question) not in evaluated]
            self.stdout.write(f"--tune-on: left out {len(overlap)} questions that are also in --questions")
        fusion = Fusion(
            method=options["fusion"], dense_weight=options["dense_weight"], rrf_k=options["rrf_k"]
        )
        settings = encoder_settings(scope=scope)
        result = kb_evaluate(
            documents,
            questions,
            scope=scope,
            max_tokens=options["max_tokens"],
            fusion=fusion,
            tune_questions=tune,
            reranker=reranker,
        )
        sizes = result.chunk_sizes
        self.stdout.write(
            f"materials: {len(documents)} documents -> {int(sizes['chunks'])} chunks; tokens per chunk: "
            f"mean {sizes['mean']:.1f}, min {sizes['min']:.0f}, p10 {sizes['p10']:.0f}, "
            f"median {sizes['p50']:.0f}, p90 {sizes['p90']:.0f}, max {sizes['max']:.0f}"
        )
        self.stdout.write(
            f"questions: {result.questions} ({result.unanswerable} with no chunk containing a gold passage)"
        )
        self.stdout.write(
            f"encoder: model version {settings.model_id} (scope {settings.scope or 'site-wide'!r})"
        )
        fused = result.fusion
        detail = (
            f"weighted, dense weight {fused.dense_weight:.2f}"
            if fused.method == "weighted"
            else f"rrf, k {fused.rrf_k}, dense weight {fused.dense_weight:.2f}"
        )
        tuned = f"tuned on {result.tuned_on} training questions" if result.tuned_on else "as given"
        self.stdout.write(f"hybrid fusion: {detail} ({tuned})")
        self.stdout.write("| retrieval | recall@1 | recall@5 | recall@10 | MRR |")
        self.stdout.write("|---|---|---|---|---|")
        for name, scores in result.rows:
            self.stdout.write(
                f"| {name} | {scores.recall[1]:.4f} | {scores.recall[5]:.4f} | "
                f"{scores.recall[10]:.4f} | {scores.mrr:.4f} |"
            )
        self.stdout.write(
            "seconds: " + ", ".join(f"{step} {value:.1f}" for step, value in result.seconds.items())
        )
