import torch
from django.test import override_settings

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


def test_half_precision_only_on_accelerators():
    assert dtype_for(torch.device("cpu")) == torch.float32
    assert dtype_for(torch.device("mps")) == torch.float16
