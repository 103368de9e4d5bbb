# ruff: noqa: RUF001
"""Questions that no course material should answer, for calibrating the relevance threshold.

A fine-tuned encoder spreads its cosines differently from the one it started from, so the
threshold below which "nothing in the course is relevant enough" is moved with it: the same share
of these probes stays below the threshold as with the base model (``relevance_threshold_map``).
"""

import numpy as np

OFF_TOPIC_PROBES = (
    "Who won the football World Cup in 1998?",
    "What is the price of a pizza in Rome?",
    "Can you recommend a good hotel in Paris?",
    "What time does the supermarket close on Sunday?",
    "Who is the lead singer of the band Coldplay?",
    "How do I reset my email password?",
    "What is a good recipe for chocolate cake?",
    "Which movie won the Oscar for best picture last year?",
    "How much does a new car cost?",
    "What are the rules of poker?",
    "Where can I buy cheap concert tickets?",
    "Tell me a joke about lawyers.",
    "What should I wear to a wedding?",
    "How do I file my tax return?",
    "Who is the richest person in the world?",
    "What is the best smartphone to buy this year?",
    "How do I get to the airport from downtown?",
    "Write me a poem about my girlfriend.",
    "What is the capital of Australia?",
    "How many goals did Messi score last season?",
    "Is it going to rain tomorrow?",
    "What is your favourite colour?",
    "How do I knit a scarf?",
    "When is the next bus to the city centre?",
    "今天晚上吃什么好？",
    "哪部电影最好看？",
    "怎么申请信用卡？",
    "周末去哪里旅游比较好？",
)


def relevance_threshold_map(
    base_threshold: float, base_top_scores: np.ndarray, new_top_scores: np.ndarray
) -> float:
    """The new model's threshold that rejects the same share of probes as the base one did.

    ``*_top_scores`` are each probe's best cosine against the course passages, per model.
    """
    rejected = float(np.mean(np.asarray(base_top_scores) < base_threshold))
    scores = np.sort(np.asarray(new_top_scores, dtype=np.float64))
    if rejected >= 1.0:
        return round(float(scores[-1]) + 0.01, 4)
    return round(float(np.quantile(scores, rejected)), 4)
