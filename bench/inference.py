"""Model runtime benchmark: prints, from one run on one machine, how the runtime compares with
naive use of the same models, and with the limits this machine's hardware sets.

    .venv/bin/python bench/inference.py            # about 2-4 minutes on 2 CPU cores

(a) encoder: items/s on 256-token texts, runtime (length-sorted, padded batches) vs one text at
    a time, and vs a compute-limit estimate from a measured matmul peak;
(b) generation, 512-token prompts: the runtime's single stream and 8 concurrent requests (batched)
    vs Hugging Face ``generate`` on the float32 safetensors model, one request at a time; time to
    first token; the memory-bandwidth bound; llama.cpp on the GGUF when llama-cpp-python is there;
(c) peak memory.
Results go in docs/benchmarks.md with the machine.
"""

import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.base")
os.environ.setdefault("DEBUG", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from transformers import AutoModel, AutoModelForCausalLM  # noqa: E402

from eduai.ml.batching import MicroBatcher  # noqa: E402
from eduai.ml.bundled import prepared_model_directory  # noqa: E402
from eduai.ml.devices import dtype_for, select_device  # noqa: E402
from eduai.ml.encoder import Encoder  # noqa: E402
from eduai.ml.generator import GenerationRequest, Generator  # noqa: E402
from eduai.ml.llama_cpp_backend import LlamaCppGenerator  # noqa: E402

PASSAGE = (
    "Photosynthesis takes place in the chloroplasts of plant cells. Chlorophyll absorbs red and blue "
    "light; the light-dependent reactions split water, release oxygen and make ATP and NADPH; the "
    "Calvin cycle in the stroma uses them to fix carbon dioxide into three-carbon sugars. "
)
TOPICS = ["plants", "oceans", "volcanoes", "the moon", "bees", "rivers", "deserts", "forests"]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def row(label: str, value: float, unit: str, note: str = "") -> None:
    print(f"  {label:<58} {value:>10.2f} {unit:<9} {note}")


def machine() -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {select_device()}"
    )


def copy_bandwidth_gb_s() -> float:
    """Bytes copied per second (each byte is read once and written once)."""
    source = torch.empty(256 * 1024 * 1024 // 4, dtype=torch.float32).fill_(1.0)
    target = torch.empty_like(source)
    target.copy_(source)
    best = min(timed(lambda: target.copy_(source)) for _ in range(5))
    return source.numel() * 4 / best / 1e9


def matmul_peak_gflop_s(dtype: torch.dtype) -> float:
    a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
    torch.mm(a, b)
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(10))
    return 2 * 1024**3 / best / 1e9


def texts_of_tokens(tokenizer: object, count: int, tokens: int) -> list[str]:
    texts = []
    for index in range(count):
        words = (f"Text {index} about {TOPICS[index % len(TOPICS)]}. " + PASSAGE * 20).split()
        text = " ".join(words[: tokens * 2])
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][: tokens - 2]  # type: ignore[operator]
        texts.append(tokenizer.decode(ids))  # type: ignore[attr-defined]
    return texts


def bench_encoder(peak_gflop_s: float) -> None:
    print("(a) encoder, all-MiniLM-L6-v2, 256-token texts")
    directory = prepared_model_directory(settings.EDUAI_ENCODER_MODEL, settings.EDUAI_MODEL_CACHE_DIR)
    encoder = Encoder(directory, select_device())
    texts = texts_of_tokens(encoder.tokenizer, 128, 256)
    encoder.embed(texts[:4])
    naive_model = AutoModel.from_pretrained(directory).eval()

    def naive() -> None:
        with torch.inference_mode():
            for text in texts[:32]:
                naive_model(**encoder.tokenizer(text, return_tensors="pt", truncation=True, max_length=256))

    naive_rate = 32 / timed(naive)
    runtime_rate = len(texts) / timed(lambda: encoder.embed(texts))
    config = naive_model.config
    layer_params = sum(p.numel() for n, p in naive_model.named_parameters() if "embeddings" not in n)
    attention_flops = 4 * config.num_hidden_layers * 256 * 256 * config.hidden_size
    flops_per_item = 2 * layer_params * 256 + attention_flops
    limit_rate = peak_gflop_s * 1e9 / flops_per_item
    row("naive: one text at a time", naive_rate, "items/s")
    row(
        "runtime: length-sorted padded batches (8 on a CPU)",
        runtime_rate,
        "items/s",
        f"{runtime_rate / naive_rate:.1f}x naive",
    )
    row(
        "compute limit (runtime dtype's matmul peak / FLOPs per item)",
        limit_rate,
        "items/s",
        f"runtime at {100 * runtime_rate / limit_rate:.0f}% of it",
    )


def chat_prompt(generator: Generator, topic: str, tokens: int) -> GenerationRequest:
    """A chat request whose templated prompt is exactly ``tokens`` tokens long."""

    def request(passage: str) -> GenerationRequest:
        messages = [
            {"role": "system", "content": f"Course material: {passage}"},
            {"role": "user", "content": f"Write a long, detailed essay about {topic}."},
        ]
        return GenerationRequest(messages=messages, max_new_tokens=64)

    overhead = generator._encode([request("")])["input_ids"].shape[1]
    tokenizer = generator.tokenizer
    passage_ids = tokenizer(PASSAGE * 40, add_special_tokens=False)["input_ids"]
    for length in range(tokens - overhead, 0, -1):
        candidate = request(str(tokenizer.decode(passage_ids[:length])))
        if generator._encode([candidate])["input_ids"].shape[1] <= tokens:
            return candidate
    raise ValueError(f"cannot build a {tokens}-token prompt")


def bench_generation(bandwidth_gb_s: float) -> None:
    print("(b) generation, SmolLM2-135M-Instruct, 512-token prompt, 64 new tokens, greedy")
    directory = prepared_model_directory(settings.EDUAI_GENERATOR_MODEL, settings.EDUAI_MODEL_CACHE_DIR)
    device = select_device()
    generator = Generator(directory, device)
    requests = [chat_prompt(generator, topic, 512) for topic in TOPICS]
    encoded = [generator._encode([request]) for request in requests]
    print(f"  prompt tokens: {encoded[0]['input_ids'].shape[1]}")

    naive_model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    naive_model.eval()  # type: ignore[no-untyped-call]
    kwargs = generator._generate_kwargs(64)

    def naive_once(index: int) -> int:
        with torch.inference_mode():
            output = naive_model.generate(**encoded[index], **kwargs)
        return int(output.shape[1] - encoded[index]["input_ids"].shape[1])

    naive_once(0)
    started = time.perf_counter()
    naive_tokens = sum(naive_once(index) for index in range(3))
    naive_rate = naive_tokens / (time.perf_counter() - started)

    generator.generate(requests[:1])
    started = time.perf_counter()
    single_tokens = sum(generator.generate([requests[index]])[0].completion_tokens for index in range(3))
    single_rate = single_tokens / (time.perf_counter() - started)

    batcher = MicroBatcher(generator.generate, max_batch=8, max_wait_seconds=0.01, name="bench")
    results: list[int] = []

    def ask(request: GenerationRequest) -> None:
        results.append(batcher.submit(request).result().completion_tokens)

    threads = [threading.Thread(target=ask, args=(request,)) for request in requests]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    aggregate_rate = sum(results) / (time.perf_counter() - started)

    first_token = []
    for request in requests[:5]:
        started = time.perf_counter()
        stream = generator.stream(request)
        next(stream)
        first_token.append(time.perf_counter() - started)
        for _ in stream:
            pass

    weights = sum(p.numel() for p in naive_model.parameters())
    row("naive: HF generate, float32, one request at a time", naive_rate, "tokens/s")
    row("runtime: single stream", single_rate, "tokens/s", f"{single_rate / naive_rate:.2f}x naive")
    row(
        "runtime: 8 concurrent requests, aggregate",
        aggregate_rate,
        "tokens/s",
        f"{aggregate_rate / naive_rate:.2f}x naive single stream",
    )
    row("runtime: time to first token, p50 of 5", statistics.median(first_token), "s")
    row(
        "bandwidth bound, float32 decode (copy GB/s / weight bytes)",
        bandwidth_gb_s * 1e9 / (weights * 4),
        "tokens/s",
    )
    row("bandwidth bound, bfloat16 decode", bandwidth_gb_s * 1e9 / (weights * 2), "tokens/s")
    bench_llama_cpp(requests[0], naive_rate)


def bench_llama_cpp(request: GenerationRequest, naive_rate: float) -> None:
    try:
        from llama_cpp import Llama
    except ImportError:
        print("  llama.cpp: llama-cpp-python is not installed (optional extra); skipped")
        return
    gguf = Path(settings.EDUAI_GENERATOR_MODEL)
    llama = Llama(model_path=str(gguf), n_ctx=4096, n_threads=os.cpu_count(), verbose=False)
    messages = list(request.messages)

    def raw() -> int:
        output = llama.create_chat_completion(messages=messages, max_tokens=64, temperature=0)
        return int(output["usage"]["completion_tokens"])

    raw()
    started = time.perf_counter()
    raw_tokens = sum(raw() for _ in range(3))
    raw_rate = raw_tokens / (time.perf_counter() - started)
    runtime_model = LlamaCppGenerator(gguf)
    batcher = MicroBatcher(runtime_model.generate, max_batch=8, max_wait_seconds=0.01, name="bench-llama")
    batcher.submit(request).result()
    started = time.perf_counter()
    runtime_tokens = sum(batcher.submit(request).result().completion_tokens for _ in range(3))
    runtime_rate = runtime_tokens / (time.perf_counter() - started)
    row(
        "llama.cpp on the GGUF, raw llama-cpp-python",
        raw_rate,
        "tokens/s",
        f"{raw_rate / naive_rate:.2f}x naive",
    )
    row(
        "runtime, llama_cpp backend (batcher + backend)",
        runtime_rate,
        "tokens/s",
        f"{runtime_rate / raw_rate:.2f}x raw llama.cpp",
    )


def main() -> None:
    machine()
    bandwidth = copy_bandwidth_gb_s()
    peak_float32, peak_bfloat16 = matmul_peak_gflop_s(torch.float32), matmul_peak_gflop_s(torch.bfloat16)
    print(
        f"measured: copy bandwidth {bandwidth:.1f} GB/s; matmul peak float32 {peak_float32:.0f} GFLOP/s, "
        f"bfloat16 {peak_bfloat16:.0f} GFLOP/s"
    )
    runtime_dtype = dtype_for(select_device())
    print(f"runtime precision here: {runtime_dtype}")
    bench_encoder(peak_bfloat16 if runtime_dtype == torch.bfloat16 else peak_float32)
    bench_generation(bandwidth)
    print(f"(c) peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
