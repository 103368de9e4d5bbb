"""Where models run and in which precision.

Device: CUDA, then Apple MPS, then CPU, unless EDUAI_DEVICE names one. Precision: half on
accelerators; on a CPU, bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX), else
float32 (EDUAI_CPU_DTYPE overrides). There bfloat16 helps both models: decoding is bound by
memory bandwidth, which half the bytes per weight relieves, and encoding by matrix products,
which native bfloat16 runs at about twice the float32 rate; answers and rankings stay those of
float32 (tests/eduai/ml/test_runtime.py).
"""

from functools import cache
from pathlib import Path

import torch
from django.conf import settings

_NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def select_device(preference: str | None = None) -> torch.device:
    choice = (preference or settings.EDUAI_DEVICE).lower()
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@cache
def cpu_has_native_bfloat16() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return False
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return bool(_NATIVE_BF16_FLAGS & set(line.split()))
    return False


def dtype_for(device: torch.device) -> torch.dtype:
    """The precision for a model on ``device``."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    choice = settings.EDUAI_CPU_DTYPE
    if choice == "bfloat16" or (choice == "auto" and cpu_has_native_bfloat16()):
        return torch.bfloat16
    return torch.float32


def empty_accelerator_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
