import pytest

from eduai.ml.storage import ModelFileError, atomic_directory, sha256_of, verify_checksum


def _model_dir(root):
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 4}')
    (root / "sub" / "weights.bin").write_bytes(b"\x00\x01\x02")
    return root


def test_directory_checksum_is_stable_and_sees_every_change(tmp_path):
    model = _model_dir(tmp_path / "model")
    first = sha256_of(model)
    assert sha256_of(model) == first
    (model / "sub" / "weights.bin").write_bytes(b"\x00\x01\x03")
    assert sha256_of(model) != first


def test_verify_names_the_corrupt_path(tmp_path):
    model = _model_dir(tmp_path / "model")
    with pytest.raises(ModelFileError, match="corrupt"):
        verify_checksum(model, "0" * 64)
    with pytest.raises(ModelFileError, match="does not exist"):
        verify_checksum(tmp_path / "missing", "0" * 64)


def test_atomic_directory_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as partial:
        (partial / "weights.bin").write_bytes(b"v1")
    assert (target / "weights.bin").read_bytes() == b"v1"

    def crash_while_writing():
        with atomic_directory(target) as partial:
            (partial / "weights.bin").write_bytes(b"half-written")
            raise RuntimeError("conversion crashed")

    with pytest.raises(RuntimeError, match="conversion crashed"):
        crash_while_writing()
    assert (target / "weights.bin").read_bytes() == b"v1"
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
