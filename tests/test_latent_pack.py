"""Latent packs (training without the pixels) and the depth-decoder fine-tuning that swaps into a bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import BUNDLE, CONFIGS, training_args
from training.data import clip_tensors
from training.latent_pack import PackIndex
from training.latent_pack import main as pack_main
from training.toy_data import write_toy_dataset

DEBUG = str(CONFIGS / "debug.yaml")

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), clips=4, frames=8, size=(64, 64), seed=3)


def _pack(data: Path, out: Path, *options: str) -> Path:
    pack_main(["--config", DEBUG, "--out", str(out), *options, f"data.dataset_dir={data}"])
    return out


def _train(data: Path, out: Path, *extra: str):
    from training.train import main

    return main(training_args(data, out, "train.steps=3", "interp.steps=2", "export.bundle=null", *extra))


@pytest.mark.slow
def test_training_on_a_float32_pack_is_training_on_the_dataset(toy_dir, tmp_path) -> None:
    pack = _pack(toy_dir, tmp_path / "pack", "--dtype", "float32")
    direct = _train(toy_dir, tmp_path / "direct")
    packed = _train(toy_dir, tmp_path / "packed", f"data.latent_pack={pack}")
    assert packed.step == direct.step == 5
    for module in ("unet", "unet_interp"):
        a, b = getattr(direct, module).state_dict(), getattr(packed, module).state_dict()
        for name in a:
            assert torch.equal(a[name], b[name]), (module, name)


def test_device_batches_are_the_per_item_batches(toy_dir, tmp_path) -> None:
    from training.data import ClipDataset, PackedBatchSampler, collate
    from training.device_batches import DeviceLatentBatches
    from training.latent_pack import PackLatents

    pack = _pack(toy_dir, tmp_path / "pack", "--limit", "64x64=6")
    index = PackIndex([pack, _pack(toy_dir, tmp_path / "full")])  # clips of 6 and of 8 frames
    latents = PackLatents(index)
    batches = DeviceLatentBatches(index, latents, "cpu")
    assert batches.nbytes() == 2 * (4 * 6 + 4 * 8) * 4 * 8 * 8 * 4  # rgb + depth, float32
    for mode, lo, hi in (("depth", 1, 5), ("interp", 3, 6)):
        sampler = PackedBatchSampler(index, 3, min_frames=lo, max_frames=hi, seed=5, repeats=2)
        dataset = ClipDataset(index, mode, latents)
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            for items in sampler:
                got, want = batches.batch(items, mode), collate([dataset[item] for item in items])
                assert got.keys() == want.keys()
                for key in want:
                    assert torch.equal(got[key], want[key]), (mode, key)
    with pytest.raises(ValueError, match="mode must be"):
        batches.batch(items, "other")


def test_repeated_clips_fill_an_epoch_with_their_own_draws(toy_dir, tmp_path) -> None:
    from training.data import PackedBatchSampler, mix_seed

    index = PackIndex(_pack(toy_dir, tmp_path / "pack"))
    once = PackedBatchSampler(index, 64, min_frames=1, max_frames=8, seed=2)
    items = [it for batch in once for it in batch]
    assert sorted(i for i, _, _ in items) == [0, 1, 2, 3]
    assert all(seed == mix_seed(2, 0, i, 29) for i, _, seed in items)  # the seeds of a single appearance
    many = PackedBatchSampler(index, 64, min_frames=1, max_frames=8, seed=2, repeats=5)
    items = [it for batch in many for it in batch]
    assert sorted(i for i, _, _ in items) == sorted(list(range(4)) * 5)
    assert len({seed for _, _, seed in items}) == 20  # every appearance draws its own frames
    assert len({k for _, k, _ in items}) > 1
    with pytest.raises(ValueError, match="data.clip_repeats"):
        PackedBatchSampler(index, 64, min_frames=1, max_frames=8, repeats=0)
    trainer = _train(
        toy_dir, tmp_path / "run", f"data.latent_pack={tmp_path / 'pack'}", "data.clip_repeats=3"
    )
    assert trainer.step == 5 and trainer.device_batches is not None
    assert len(trainer.sampler.all_batches()) >= 6  # 12 items, batches of at most 2


def test_half_precision_pack_with_frame_limits_and_targets(toy_dir, tmp_path) -> None:
    pack = _pack(toy_dir, tmp_path / "pack", "--limit", "64x64=5", "--targets", "2")
    index = PackIndex(pack)
    assert [e.frames for e in index.entries] == [5, 5, 5, 5]
    record = json.loads((pack / "index.json").read_text())
    assert [bool(c.get("target")) for c in record["clips"]] == [True, True, False, False]
    targets = index.targets()
    assert len(targets) == 2
    for entry, target in zip(index.entries, targets, strict=False):
        exact = clip_tensors(toy_dir / entry.path.name, (64, 64))[1][:5]  # [T,H,W] in [-1,1]
        assert target.shape == exact.shape
        assert float((target - exact).abs().max()) <= 1.0 / 65535 + 1e-6  # 16-bit quantisation
    from training.latent_pack import PackLatents

    latents = PackLatents(index).load(index.entries[0])
    assert latents["rgb"].dtype == torch.float32 and latents["depth"].shape == (5, 4, 8, 8)
    full = _pack(toy_dir, tmp_path / "full")
    both = PackIndex([pack, full])  # packs train together
    assert [e.frames for e in both.entries] == [5, 5, 5, 5, 8, 8, 8, 8]
    assert PackLatents(both).load(both.entries[4])["depth"].shape == (8, 4, 8, 8)
    trainer = _train(toy_dir, tmp_path / "run", f"data.latent_pack=[{pack},{full}]")
    assert trainer.step == 5 and len(trainer.index) == 8
    with pytest.raises(FileExistsError, match="--out"):
        _pack(toy_dir, pack)


def test_a_pack_encoded_by_another_vae_is_refused(toy_dir, tmp_path) -> None:
    pack = _pack(toy_dir, tmp_path / "pack")
    with pytest.raises(ValueError, match="data.latent_pack .* was encoded by VAE"):
        _train(toy_dir, tmp_path / "run", f"data.latent_pack={pack}", "seed=1")  # another random VAE
    other = tmp_path / "other"
    pack_main(["--config", DEBUG, "--out", str(other), f"data.dataset_dir={toy_dir}", "seed=1"])
    with pytest.raises(ValueError, match="different VAEs"):
        PackIndex([pack, other])
    (pack / "index.json").unlink()
    with pytest.raises(FileNotFoundError, match="not a complete latent pack"):
        _train(toy_dir, tmp_path / "run2", f"data.latent_pack={pack}")


@pytest.mark.slow
def test_decoder_fine_tuning_keeps_the_encoder_and_swaps_into_a_bundle(toy_dir, tmp_path) -> None:
    from diffusers import AutoencoderKLTemporalDecoder

    from dav_core.models.loading import load_dav
    from training.export import export_bundle
    from training.finetune_depth_decoder import main

    metrics = main(training_args(
        toy_dir, tmp_path / "dec", f"model.pretrained={BUNDLE}", "data.filter=false", "data.resolutions=[[64,64]]",
        "data.num_frames=2", "data.windows_per_batch=2", "data.eval_clips=1", "optim.warmup_steps=0",
        "train.steps=2", "train.log_every=1", config="decoder_v3",
    ))
    assert metrics["steps"] == 2 and metrics["depth_l1_before"] > 0
    original = load_dav(BUNDLE)
    tuned = AutoencoderKLTemporalDecoder.from_pretrained(tmp_path / "dec" / "vae")
    old, new = original.vae.state_dict(), tuned.state_dict()
    assert all(torch.equal(old[k], new[k]) for k in old if not k.startswith("decoder."))
    assert any(not torch.equal(old[k], new[k]) for k in old if k.startswith("decoder."))

    bundle = export_bundle(BUNDLE, tmp_path / "swapped.safetensors", vae=tmp_path / "dec" / "vae")
    swapped = load_dav(bundle)
    for k, v in new.items():
        assert torch.equal(swapped.vae.state_dict()[k], v), k
    for k, v in original.unet.state_dict().items():
        assert torch.equal(swapped.unet.state_dict()[k], v), k

    with torch.no_grad():
        tuned.encoder.conv_in.weight.add_(0.01)  # an encoder the UNets never saw
    tuned.save_pretrained(tmp_path / "other_vae")
    with pytest.raises(ValueError, match="--vae .* encoder differs"):
        export_bundle(BUNDLE, tmp_path / "bad.safetensors", vae=tmp_path / "other_vae")


def test_training_benchmark_times_both_batch_paths(toy_dir, tmp_path, capsys) -> None:
    from training.bench_train import main

    pack = _pack(toy_dir, tmp_path / "pack")
    results = main(
        ["--config", DEBUG, "--batch", "3", "--steps", "2", "--warmup", "1", "--json", str(tmp_path / "b.json")]
        + [f"data.dataset_dir={toy_dir}", f"data.latent_pack={pack}", "data.clip_repeats=2", "interp.steps=0"]
    )
    assert [r["pack_on_device"] for r in results] == [False, True]
    assert all(r["steps_per_s"] > 0 and r["clips_per_s"] > 0 and r["data_ms_per_step"] >= 0 for r in results)
    assert json.loads((tmp_path / "b.json").read_text()) == results
    assert "device / per-item steps/s" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--config", DEBUG, f"data.dataset_dir={toy_dir}"])  # no latent pack
