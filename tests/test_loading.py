"""Checkpoint loading: layouts, precisions, and clear errors for wrong checkpoints."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from dav_core.models.loading import (
    CheckpointError,
    infer_config,
    load_component,
    load_dav,
    load_dav_components,
    resolve_dtype,
    save_bundle,
    save_folder,
)

WEIGHTS = "diffusion_pytorch_model.safetensors"


def unet_output(unet, parity):
    return unet(parity["unet.sample"].to(unet.dtype), parity["unet.timestep"])


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def copy_tiny(tiny_dav_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_dav_dir, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def test_folder_loads_all_components(tiny_model):
    assert tiny_model.unet.config.in_channels == 8
    assert tiny_model.unet_interp.config.in_channels == 16
    assert tiny_model.vae.config.scaling_factor == pytest.approx(0.18215)
    assert tiny_model.scheduler_config["num_train_timesteps"] == 1000
    assert not tiny_model.unet.training


def test_bundle_round_trip(tiny_model, tmp_path):
    bundle = tmp_path / "dav_tiny.safetensors"
    save_bundle(tiny_model, bundle)
    loaded = load_dav(bundle)
    for name in ("unet", "unet_interp", "vae"):
        assert_same_weights(getattr(loaded, name), getattr(tiny_model, name))
    assert loaded.unet_interp is not None and loaded.scheduler_config == tiny_model.scheduler_config


def test_save_folder_round_trip(tiny_model, tmp_path):
    save_folder(tiny_model, tmp_path / "saved")
    loaded = load_dav(tmp_path / "saved")
    for name in ("unet", "unet_interp", "vae"):
        assert_same_weights(getattr(loaded, name), getattr(tiny_model, name))


def test_one_file_per_component_with_inferred_config(tiny_dav_dir, tiny_model, tmp_path):
    paths = {}
    for name in ("unet", "unet_interp", "vae"):
        paths[name] = tmp_path / f"dav_{name}.safetensors"
        shutil.copyfile(tiny_dav_dir / name / WEIGHTS, paths[name])  # no config anywhere: inferred
    model = load_dav_components(**paths)
    for name in ("unet", "unet_interp", "vae"):
        assert_same_weights(getattr(model, name), getattr(tiny_model, name))
    for name in ("unet", "vae"):
        official = json.loads((tiny_dav_dir / name / "config.json").read_text())
        inferred = infer_config(name, load_file(str(paths[name])))
        for key, value in inferred.items():
            if key != "down_block_types":
                assert (
                    list(value) == list(official[key]) if isinstance(value, list) else value == official[key]
                ), key


def test_component_config_from_sidecar_json(tiny_dav_dir, tmp_path):
    weights = tmp_path / "unet.safetensors"
    shutil.copyfile(tiny_dav_dir / "unet" / WEIGHTS, weights)
    config = json.loads((tiny_dav_dir / "unet" / "config.json").read_text())
    config["num_attention_heads"] = [2, 2, 2, 2]  # shapes do not reveal heads: the sidecar must be used
    (tmp_path / "unet.json").write_text(json.dumps(config))
    unet = load_component("unet", weights)
    assert list(unet.config.num_attention_heads) == [2, 2, 2, 2]


@pytest.mark.parametrize(
    "precision,dtype", [("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", torch.float32)]
)
def test_precisions(tiny_dav_dir, tiny_model, parity, precision, dtype):
    model = load_dav(tiny_dav_dir, dtype=resolve_dtype(precision), components=("unet", "vae"))
    assert model.unet.dtype == dtype and model.vae.dtype == dtype
    reference = unet_output(tiny_model.unet, parity)
    out = unet_output(model.unet, parity).float()
    tolerance = {torch.float32: 1e-6, torch.float16: 2e-2, torch.bfloat16: 1.5e-1}[dtype]
    assert (out - reference).abs().max().item() <= tolerance * reference.abs().max().item()


def test_resolve_dtype_rejects_unknown_precision():
    with pytest.raises(ValueError, match="precision must be one of auto"):
        resolve_dtype("fp8")
    assert resolve_dtype("auto", "cpu") == torch.float32


def _rewrite_unet(folder, edit):
    path = folder / "unet" / WEIGHTS
    tensors = load_file(str(path))
    edit(tensors)
    save_file(tensors, str(path))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.pop("conv_out.bias"), r"1 missing keys: conv_out\.bias"),
        (lambda t: t.__setitem__("add_embedding.linear_1.weight", torch.zeros(4, 4)),
         r"1 unexpected keys: add_embedding\.linear_1\.weight"),
        (lambda t: t.__setitem__("conv_out.bias", torch.zeros(5)),
         r"1 wrong shapes: conv_out\.bias: checkpoint \(5,\) vs model \(4,\)"),
    ],
    ids=["missing-key", "unexpected-key", "wrong-shape"],
)
def test_checkpoint_mismatch_is_named(tiny_dav_dir, tmp_path, edit, message):
    folder = copy_tiny(tiny_dav_dir, tmp_path)
    _rewrite_unet(folder, edit)
    with pytest.raises(CheckpointError, match=message):
        load_dav(folder)


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin", ".pth"])
def test_pickle_checkpoint_is_refused(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    with open(path, "wb") as f:
        pickle.dump({"conv_in.weight": [1.0]}, f)
    with pytest.raises(CheckpointError, match="pickle checkpoint; only .safetensors"):
        load_component("unet", path)


def test_pickle_renamed_to_safetensors_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    torch.save({"conv_in.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="pickle checkpoint"):
        load_component("unet", path)


def test_folder_with_pickle_weights_is_refused(tiny_dav_dir, tmp_path):
    folder = copy_tiny(tiny_dav_dir, tmp_path)
    (folder / "unet" / WEIGHTS).unlink()
    torch.save({}, folder / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pickle checkpoint"):
        load_dav(folder)


def test_folder_without_unet_is_refused(tiny_dav_dir, tmp_path):
    folder = copy_tiny(tiny_dav_dir, tmp_path)
    shutil.rmtree(folder / "unet")
    with pytest.raises(CheckpointError, match=r"has no 'unet/' sub-folder"):
        load_dav(folder)


def test_folder_without_interp_loads_without_it(tiny_dav_dir, tmp_path):
    folder = copy_tiny(tiny_dav_dir, tmp_path)
    shutil.rmtree(folder / "unet_interp")
    assert load_dav(folder).unet_interp is None


def test_vae_file_given_as_unet_is_refused(tiny_dav_dir, tmp_path):
    path = tmp_path / "vae.safetensors"
    shutil.copyfile(tiny_dav_dir / "vae" / WEIGHTS, path)
    with pytest.raises(CheckpointError, match="is it a unet"):
        load_component("unet", path)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dav(tmp_path / "nothing_here")


def test_component_file_is_not_a_bundle(tiny_dav_dir):
    with pytest.raises(CheckpointError, match="not a full DAV bundle"):
        load_dav(tiny_dav_dir / "unet" / WEIGHTS)
