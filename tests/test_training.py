"""Tests of the training package (CPU, tiny): configs, frame dropout, packing, surgery, trainer, DDP, resume."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import CONFIGS, training_args
from training.config import load_config, parse_override
from training.data import ClipDataset, ClipIndex, PackedBatchSampler
from training.frames import interp_condition, sample_frame_indices
from training.surgery import make_interp_unet
from training.toy_data import make_toy_clip, write_toy_dataset

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), clips=6, frames=8, size=(64, 64), seed=0)


def tiny_unet(in_channels: int = 8):
    from dav_core.models.unet import UNetSpatioTemporalRopeConditionModel

    torch.manual_seed(0)
    return UNetSpatioTemporalRopeConditionModel(
        in_channels=in_channels,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 32),
        layers_per_block=1,
        cross_attention_dim=16,
        num_attention_heads=(2, 2),
    ).eval()


# ------------------------------------------------------------------------------------------- config


def test_config_inheritance_and_overrides(tmp_path) -> None:
    (tmp_path / "base.yaml").write_text("a: 1\nnest: {x: 1, y: [1, 2]}\ntrain: {steps: 10}\n")
    (tmp_path / "child.yaml").write_text("base_config: base.yaml\nnest: {x: 2}\n")
    cfg = load_config(tmp_path / "child.yaml", ["train.steps=5", "nest.y=[3]", "new.key=abc", "lr=1e-4"])
    assert cfg == {
        "a": 1,
        "nest": {"x": 2, "y": [3]},
        "train": {"steps": 5},
        "new": {"key": "abc"},
        "lr": 1e-4,
    }
    assert parse_override("x.y=null") == ("x.y", None)
    with pytest.raises(ValueError):
        parse_override("novalue")
    for name in ("debug", "tiny", "paper"):
        cfg = load_config(CONFIGS / f"{name}.yaml")
        assert {"data", "model", "train", "flow", "optim", "interp"} <= set(cfg)
    paper = load_config(CONFIGS / "paper.yaml")
    assert paper["data"]["batch_sizes"] == [384, 256, 192, 128, 64]
    assert (paper["data"]["min_frames"], paper["data"]["max_frames"], paper["train"]["epochs"]) == (1, 6, 20)
    from training.train import per_rank_batch_sizes

    assert per_rank_batch_sizes({(512, 512): 384, (1024, 1024): 64}, 8 * 4) == {
        (512, 512): 12,
        (1024, 1024): 2,
    }
    assert per_rank_batch_sizes(3, 2) == 2


# ------------------------------------------------------------------------------------------- frames


def test_frame_dropout_indices_are_sorted_unique_in_range() -> None:
    g = torch.Generator().manual_seed(0)
    seen_gap = False
    for t in (1, 2, 5, 16):
        for k in range(1, t + 1):
            idx = sample_frame_indices(t, k, g)
            assert idx.dtype == torch.long and len(idx) == k
            assert torch.equal(idx, idx.sort().values) and len(set(idx.tolist())) == k
            assert 0 <= int(idx.min()) and int(idx.max()) < t
            seen_gap |= not torch.equal(idx, torch.arange(int(idx[0]), int(idx[0]) + k))
    assert seen_gap
    with pytest.raises(ValueError):
        sample_frame_indices(3, 4, g)


def test_interp_condition_layout() -> None:
    x = torch.randn(2, 5, 4, 3, 3)
    known, mask = interp_condition(x)
    assert torch.equal(known[:, [0, -1]], x[:, [0, -1]]) and not known[:, 1:-1].any()
    assert mask[:, [0, -1]].eq(1).all() and not mask[:, 1:-1].any()


def test_position_ids_reach_the_unet(toy_dir, tmp_path) -> None:
    from training.train import Trainer, parse_args

    cfg, _ = parse_args(training_args(toy_dir, tmp_path / "run", "data.min_frames=3", "data.max_frames=5"))
    trainer = Trainer(cfg)
    trainer._setup_phase("depth")
    seen = []
    forward = trainer.model.forward

    def spy(sample, timestep, encoder_hidden_states=None, position_ids=None):
        seen.append(position_ids.clone())
        return forward(sample, timestep, encoder_hidden_states, position_ids)

    trainer.model.forward = spy
    for _ in range(4):
        batch = trainer._next_batch()
        trainer.loss_on(batch, 0)
        indices = batch["indices"]
        assert torch.equal(seen[-1], indices)
        b, k = indices.shape
        assert batch["rgb_latents"].shape[:2] == (b, k) and 3 <= k <= 5
        for row in indices:
            assert torch.equal(row, row.sort().values) and len(set(row.tolist())) == k and int(row.max()) < 8


# ------------------------------------------------------------------------------------------- packing


def test_packing_sampler_groups_and_covers(tmp_path) -> None:
    sizes = [(64, 64), (64, 96), (96, 64)]
    root = tmp_path / "mixed"
    for i in range(14):
        write_toy_dataset(root / "tmp", 1, frames=3 + i % 5, size=sizes[i % 3], seed=i)
        (root / "tmp" / "clip_000000").rename(root / f"clip_{i:06d}")
    index = ClipIndex(root, use_filter=False)
    batch_sizes = {(64, 64): 2, (64, 96): 3, (96, 64): 1}
    for world in (1, 2):
        covered = []
        for rank in range(world):
            sampler = PackedBatchSampler(
                index, batch_sizes, min_frames=2, max_frames=6, seed=3, rank=rank, world_size=world
            )
            sampler.set_epoch(1)
            batches = list(sampler)
            assert len(batches) == len(sampler)
            for batch in batches:
                res = {(index.entries[i].height, index.entries[i].width) for i, _, _ in batch}
                ks = {k for _, k, _ in batch}
                assert len(res) == 1 and len(ks) == 1, batch
                assert len(batch) <= batch_sizes[res.pop()]
                k = ks.pop()
                assert all(2 <= k <= min(6, index.entries[i].frames) for i, _, _ in batch)
                covered += [i for i, _, _ in batch]
        assert set(covered) == set(range(len(index)))
        if world == 1:
            assert sorted(covered) == list(range(len(index)))  # each clip exactly once per epoch
    # resume: skipping the first batches of an epoch yields the rest
    sampler = PackedBatchSampler(index, batch_sizes, min_frames=2, max_frames=6, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.set_epoch(2, start_batch=3)
    assert list(sampler) == full[3:]
    # a dataset item of a packed batch
    ds = ClipDataset(index, "depth")
    item = ds[full[0][0]]
    assert item["rgb"].shape[0] == full[0][0][1] and item["depth"].shape == item["rgb"][:, 0].shape


# ------------------------------------------------------------------------------------------- filter cache


def test_filter_decisions_are_cached(tmp_path, monkeypatch) -> None:
    from dav_core.filtering import ClipFilter
    from dav_core.synthetic import write_clip

    root = tmp_path / "data"
    write_clip(make_toy_clip(0, 8), root / "clip_000000", rgb_format="png")
    a, b = make_toy_clip(1, 8), make_toy_clip(2, 8)
    a.rgb[4:], a.depth[4:] = b.rgb[:4], b.depth[:4] * 3.0  # scene cut mid-clip
    write_clip(a, root / "clip_000001", rgb_format="png")
    index = ClipIndex(root, use_filter=True, filter_kwargs={"use_scenedetect": False})
    assert [e.path.name for e in index.entries] == ["clip_000000"] and "clip_000001" in index.rejected
    assert (root / ".dav_train_cache" / "filter_decisions.json").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("filter re-run despite the cache")

    monkeypatch.setattr(ClipFilter, "check_clip", boom)
    again = ClipIndex(root, use_filter=True, filter_kwargs={"use_scenedetect": False})
    assert [e.path.name for e in again.entries] == ["clip_000000"]


# ------------------------------------------------------------------------------------------- surgery


def test_interp_surgery_preserves_output() -> None:
    unet = tiny_unet(8)
    interp = make_interp_unet(unet).eval()
    assert interp.config.in_channels == 16
    x = torch.randn(1, 3, 8, 8, 8)
    pos = torch.tensor([[0, 2, 7]])
    with torch.no_grad():
        ref = unet(x, torch.tensor([500.0]), position_ids=pos)
        out = interp(torch.cat([x, x], dim=2), torch.tensor([500.0]), position_ids=pos)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_gradient_checkpointing_recomputes_with_the_same_positions() -> None:
    unet = tiny_unet(8).train()
    x = torch.randn(2, 3, 8, 8, 8)
    pos = torch.tensor([[0, 3, 9], [1, 2, 40]])

    def grads():
        unet.zero_grad()
        unet(x, torch.tensor([300.0, 700.0]), position_ids=pos).square().mean().backward()
        return {n: p.grad.clone() for n, p in unet.named_parameters() if p.grad is not None}

    plain = grads()
    unet.enable_gradient_checkpointing()
    checkpointed = grads()
    assert plain.keys() == checkpointed.keys()
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------------------------------- trainer


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_debug_training_loss_falls_and_checkpoint_samples(toy_dir, tmp_path) -> None:
    from dav_core.depth import predict_depth_window
    from dav_core.longvideo.windows import interpolate_windows
    from dav_core.models.loading import load_dav
    from dav_core.settings import DepthSettings
    from training.train import main

    out = tmp_path / "run"
    main(training_args(toy_dir, out))
    log = _log(out)
    depth = [r["loss"] for r in log if r["phase"] == "depth"]
    assert len(depth) == 30 and [r["step"] for r in log] == list(range(1, 35))
    assert np.mean(depth[-8:]) < 0.7 * np.mean(depth[:4]), depth
    assert (out / "loss.png").stat().st_size > 0
    from training.export import export_bundle

    bundle = export_bundle(out / "checkpoints" / "step_0000034", tmp_path / "exported.safetensors")
    for source in (
        out / "final",
        out / "debug.safetensors",
        out / "checkpoints" / "step_0000034" / "model",
        bundle,
    ):
        model = load_dav(source)
        assert model.unet_interp is not None and model.unet_interp.config.in_channels == 16
    frames = make_toy_clip(99, 3).rgb.astype(np.float32) / 255.0
    disparity = predict_depth_window(model, frames, DepthSettings(steps=2, max_resolution=64))
    assert disparity.shape == (3, 64, 64) and torch.isfinite(disparity).all()
    assert 0 <= float(disparity.min()) and float(disparity.max()) <= 1
    latents = torch.randn(4, 4, 8, 8)
    filled = interpolate_windows(
        model, latents[None], latents[:1], latents[-1:], [torch.Generator().manual_seed(0)], 2
    )
    assert filled.shape == (1, 4, 4, 8, 8)


@pytest.mark.slow
def test_resume_continues_the_run(toy_dir, tmp_path) -> None:
    from training.train import main

    common = ("interp.steps=0", "export.bundle=null")
    straight = main(training_args(toy_dir, tmp_path / "straight", "train.steps=6", *common))
    main(training_args(toy_dir, tmp_path / "resumed", "train.steps=3", *common))
    resumed = main(training_args(toy_dir, tmp_path / "resumed", "train.steps=6", *common))
    assert resumed.step == 6
    assert [r["step"] for r in _log(tmp_path / "resumed")] == list(range(1, 7))
    a, b = straight.unet.state_dict(), resumed.unet.state_dict()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(
        [r["loss"] for r in _log(tmp_path / "resumed")], [r["loss"] for r in _log(tmp_path / "straight")]
    )


@pytest.mark.slow
def test_two_process_ddp_keeps_ranks_identical(toy_dir, tmp_path, monkeypatch) -> None:
    import torch.multiprocessing as mp

    # the spawned processes import the worker by module name: put its folder on the sys.path they inherit
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    from ddp_worker import spawn_worker

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = training_args(toy_dir, tmp_path / "ddp", "train.steps=2", "interp.steps=0", "export.bundle=null")
    mp.spawn(spawn_worker, args=(2, port, argv, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert r0.keys() == r1.keys()
    for name in r0:
        assert torch.equal(r0[name], r1[name]), name
    from training.models import build_unet
    from training.train import parse_args

    init = build_unet(parse_args(argv)[0])[0].state_dict()
    assert any(not torch.equal(init[name], r0[name]) for name in r0)  # a step was taken
    assert [r["step"] for r in _log(tmp_path / "ddp")] == [1, 2]


def test_vae_training_smoke(toy_dir, tmp_path) -> None:
    from diffusers import AutoencoderKLTemporalDecoder

    from training.train_vae import main

    cfg = str(CONFIGS / "vae_debug.yaml")
    metrics = main(
        [
            "--config",
            cfg,
            f"data.dataset_dir={toy_dir}",
            f"output_dir={tmp_path}",
            "train.steps=2",
            "data.resolution=[32,32]",
            "data.num_frames=2",
            "data.windows_per_batch=2",
        ]
    )
    assert (
        metrics["steps"] == 2
        and np.isfinite(metrics["after"]["rgb_l1"])
        and np.isfinite(metrics["after"]["depth_l1"])
    )
    vae = AutoencoderKLTemporalDecoder.from_pretrained(tmp_path / "vae")
    assert vae.config.scaling_factor == pytest.approx(metrics["scaling_factor"])


def test_time_budget_stops_and_saves(toy_dir, tmp_path) -> None:
    from dav_core.models.loading import load_dav
    from training.train import main

    out = tmp_path / "budget"
    trainer = main(
        training_args(toy_dir, out, "train.steps=1000", "train.time_budget_min=1e-6", "export.bundle=null")
    )
    assert trainer.step == 1
    assert (out / "checkpoints" / "latest").read_text() == "step_0000001"
    assert load_dav(out / "final").unet is not None


@pytest.mark.slow
def test_continued_training_keeps_the_pretrained_interpolation_unet_and_resumes(toy_dir, tmp_path) -> None:
    """Continue from an exported bundle: a run stopped by its time budget before the interpolation phase
    exports the pretrained interpolation UNet unchanged (not one surgered from the depth UNet), and the
    same command run again resumes at the saved step."""
    from dav_core.models.loading import load_dav
    from training.train import main

    first = tmp_path / "first"
    main(training_args(toy_dir, first, "train.steps=3", "interp.steps=2"))
    bundle = first / "debug.safetensors"
    pretrained = load_dav(bundle)

    out = tmp_path / "continued"
    common = (f"model.pretrained={bundle}", "interp.from_pretrained=true", "export.bundle=null")
    trainer = main(training_args(toy_dir, out, "train.steps=6", "interp.steps=2", "train.time_budget_min=1e-6", *common))
    assert trainer.step == 1 and trainer.phase == "depth"
    exported = load_dav(out / "final")
    for key, value in pretrained.unet_interp.state_dict().items():
        assert torch.equal(exported.unet_interp.state_dict()[key], value), key
    for key, value in pretrained.vae.state_dict().items():
        assert torch.equal(exported.vae.state_dict()[key], value), key

    trainer = main(training_args(toy_dir, out, "train.steps=6", "interp.steps=2", *common))
    assert trainer.step == 8
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, 9))
    resumed = load_dav(out / "final")
    changed = [
        k for k, v in resumed.unet_interp.state_dict().items() if not torch.equal(v, pretrained.unet_interp.state_dict()[k])
    ]
    assert changed, "the interpolation phase trained the pretrained interpolation UNet"
