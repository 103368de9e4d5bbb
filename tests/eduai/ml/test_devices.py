import torch
from django.test import override_settings

from eduai.ml import devices
from eduai.ml.devices import dtype_for, select_device


def test_explicit_device_wins():
    assert select_device("cpu") == torch.device("cpu")
    with override_settings(EDUAI_DEVICE="cpu"):
        assert select_device() == torch.device("cpu")


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert select_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device("auto").type == "cpu"


def test_half_precision_on_accelerators():
    assert dtype_for(torch.device("mps")) == torch.float16


def test_cpu_precision_follows_native_bfloat16_support(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: True)
    assert dtype_for(cpu) == torch.bfloat16
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: False)
    assert dtype_for(cpu) == torch.float32
    with override_settings(EDUAI_CPU_DTYPE="bfloat16"):
        assert dtype_for(cpu) == torch.bfloat16
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: True)
    with override_settings(EDUAI_CPU_DTYPE="float32"):
        assert dtype_for(cpu) == torch.float32
