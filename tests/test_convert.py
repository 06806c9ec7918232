"""`dav convert`: a published-layout folder or a bundle as one bundle in fp32/fp16/bf16."""

from __future__ import annotations

import re

import pytest
import torch

from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import DTYPES, load_dav
from tests.helpers import run_dav

pytestmark = pytest.mark.usefixtures("single_thread")


def _state(model) -> dict[str, torch.Tensor]:
    return {f"{name}.{k}": v for name in ("unet", "unet_interp", "vae") for k, v in getattr(model, name).state_dict().items()}


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_folder_to_half_precision_bundle_loads_like_the_source(tmp_path, tiny_dav_dir, precision):
    bundle = tmp_path / f"tiny_{precision}.safetensors"
    assert run_dav("convert", tiny_dav_dir, bundle, "--precision", precision).code == 0
    dtype = DTYPES[precision]
    converted, source = load_dav(bundle, dtype=dtype), load_dav(tiny_dav_dir, dtype=dtype)
    expected, got = _state(source), _state(converted)
    assert expected.keys() == got.keys()
    for key, tensor in expected.items():
        assert got[key].dtype == dtype and torch.equal(got[key], tensor), key
    assert converted.scheduler_config == source.scheduler_config
    full = tmp_path / "tiny_fp32.safetensors"
    assert run_dav("convert", tiny_dav_dir, full, "--precision", "fp32").code == 0
    assert bundle.stat().st_size < 0.6 * full.stat().st_size  # half the bytes, plus the same metadata


def test_bundle_keeps_its_processing_resolution(tmp_path):
    out = tmp_path / "dav_tiny_fp16.safetensors"
    assert run_dav("convert", BUNDLED_MODEL, out).code == 0
    assert load_dav(out).processing_resolution == load_dav(BUNDLED_MODEL).processing_resolution == 64


def test_convert_refuses_what_it_cannot_do(tmp_path, tiny_dav_dir):
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"x")
    cases = [
        ([tiny_dav_dir, out], r"exists: pass --overwrite"),
        ([tiny_dav_dir, tmp_path / "m.bin"], r"must end in \.safetensors"),
        ([tiny_dav_dir, tmp_path / "no" / "m.safetensors"], r"folder .*no does not exist"),
        ([tmp_path / "missing", tmp_path / "n.safetensors"], r"model path does not exist"),
        ([out, out, "--overwrite"], r"source and destination are the same file"),
    ]
    for args, message in cases:
        run = run_dav("convert", *args)
        assert run.code == 2 and len(run.errors) == 1 and re.search(message, run.errors[0]), run.err
    assert out.read_bytes() == b"x"
