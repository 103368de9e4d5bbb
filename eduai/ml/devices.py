"""Where models run: CUDA, then Apple MPS, then CPU, unless EDUAI_DEVICE says otherwise."""

import torch
from django.conf import settings


def select_device(preference: str | None = None) -> torch.device:
    choice = (preference or settings.EDUAI_DEVICE).lower()
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def dtype_for(device: torch.device) -> torch.dtype:
    """Half precision on accelerators; CPUs are fastest and exact in float32."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def empty_accelerator_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
