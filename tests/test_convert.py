"""`dav convert`: a published-layout folder or a bundle as one bundle in fp32/fp16/bf16."""

from __future__ import annotations

import pytest
import torch

from dav_core.cli import main
from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import DTYPES, load_dav

pytestmark = pytest.mark.usefixtures("single_thread")


def _state(model) -> dict[str, torch.Tensor]:
    return {f"{name}.{k}": v for name in ("unet", "unet_interp", "vae") for k, v in getattr(model, name).state_dict().items()}


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_folder_to_half_precision_bundle_loads_like_the_source(tmp_path, tiny_dav_dir, precision):
    bundle = tmp_path / f"tiny_{precision}.safetensors"
    assert main(["convert", str(tiny_dav_dir), str(bundle), "--precision", precision]) == 0
    dtype = DTYPES[precision]
    converted, source = load_dav(bundle, dtype=dtype), load_dav(tiny_dav_dir, dtype=dtype)
    expected, got = _state(source), _state(converted)
    assert expected.keys() == got.keys()
    for key, tensor in expected.items():
        assert got[key].dtype == dtype and torch.equal(got[key], tensor), key
    assert converted.scheduler_config == source.scheduler_config
    full = tmp_path / "tiny_fp32.safetensors"
    assert main(["convert", str(tiny_dav_dir), str(full), "--precision", "fp32"]) == 0
    assert bundle.stat().st_size < 0.6 * full.stat().st_size  # half the bytes, plus the same metadata


def test_bundle_keeps_its_processing_resolution(tmp_path):
    out = tmp_path / "dav_tiny_fp16.safetensors"
    assert main(["convert", str(BUNDLED_MODEL), str(out)]) == 0
    assert load_dav(out).processing_resolution == load_dav(BUNDLED_MODEL).processing_resolution == 64


def test_convert_refuses_what_it_cannot_do(tmp_path, tiny_dav_dir, capsys):
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"x")
    cases = [
        ([str(tiny_dav_dir), str(out)], r"exists: pass --overwrite"),
        ([str(tiny_dav_dir), str(tmp_path / "m.bin")], r"must end in \.safetensors"),
        ([str(tiny_dav_dir), str(tmp_path / "no" / "m.safetensors")], r"folder .*no does not exist"),
        ([str(tmp_path / "missing"), str(tmp_path / "n.safetensors")], r"model path does not exist"),
        ([str(out), str(out), "--overwrite"], r"source and destination are the same file"),
    ]
    for args, message in cases:
        assert main(["convert", *args]) == 2
        error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(error) == 1 and __import__("re").search(message, error[0]), error
    assert out.read_bytes() == b"x"
