"""Tests for dav_core.metrics: alignment, AbsRel / delta accuracy and TAE on hand-built scenes."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dav_core.metrics import (
    abs_rel,
    align_disparity_to_depth,
    align_scale_shift,
    build_valid_mask,
    delta_accuracy,
    evaluate_depth,
    temporal_alignment_error,
)

H, W = 48, 64
K = torch.tensor([[60.0, 0.0, 31.5], [0.0, 60.0, 23.5], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _gt_depth(t: int = 4, seed: int = 0) -> torch.Tensor:
    """Positive GT depth in [1, 20) m, [T,H,W]."""
    g = torch.Generator().manual_seed(seed)
    return 1.0 + 19.0 * torch.rand(t, H, W, generator=g, dtype=torch.float64)


# ----------------------------------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------------------------------


def test_align_scale_shift_recovers_known_affine() -> None:
    pred = torch.rand(3, 8, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    target = 2.5 * pred - 0.3
    mask = torch.ones_like(pred, dtype=torch.bool)
    aligned, (s, t) = align_scale_shift(pred, target, mask)
    assert s == pytest.approx(2.5, abs=1e-9)
    assert t == pytest.approx(-0.3, abs=1e-9)
    assert torch.allclose(aligned, target, atol=1e-9)


def test_align_scale_shift_ignores_masked_outliers() -> None:
    pred = torch.linspace(0.0, 1.0, 100, dtype=torch.float64).reshape(10, 10)
    target = 3.0 * pred + 1.0
    target[0, :5] = float("nan")  # invalid GT
    target[1, :5] = 1e6  # outliers, masked out
    mask = torch.ones_like(pred, dtype=torch.bool)
    mask[:2, :5] = False
    _, (s, t) = align_scale_shift(pred, target, mask)
    assert (s, t) == (pytest.approx(3.0), pytest.approx(1.0))


def test_align_scale_shift_constant_prediction_falls_back_to_mean() -> None:
    pred = torch.full((4, 4), 0.7, dtype=torch.float64)
    target = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    aligned, (s, t) = align_scale_shift(pred, target, torch.ones_like(pred, dtype=torch.bool))
    assert s == 0.0 and t == pytest.approx(7.5)
    assert torch.allclose(aligned, torch.full_like(pred, 7.5))


@settings(max_examples=40, deadline=None)
@given(
    s=st.floats(0.01, 100.0) | st.floats(-100.0, -0.01),
    t=st.floats(-10.0, 10.0),
    seed=st.integers(0, 2**16),
)
def test_align_scale_shift_property(s: float, t: float, seed: int) -> None:
    pred = torch.rand(2, 5, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    mask = torch.rand(2, 5, 6, generator=torch.Generator().manual_seed(seed + 1)) > 0.3
    mask[0, 0, 0] = mask[1, 1, 1] = True  # at least two distinct pixels
    _, (s_hat, t_hat) = align_scale_shift(pred, s * pred + t, mask)
    assert s_hat == pytest.approx(s, rel=1e-6, abs=1e-6)
    assert t_hat == pytest.approx(t, rel=1e-6, abs=1e-5)


def test_align_disparity_clamps_depth_to_max_depth() -> None:
    gt = _gt_depth(1)[0]
    pred = 1.0 / gt
    pred[:2] = -5.0  # strongly negative predicted disparity: aligned disparity goes below 1/max_depth
    mask = torch.ones_like(gt, dtype=torch.bool)
    aligned_disp, _ = align_scale_shift(pred, 1.0 / gt, mask)
    assert bool((aligned_disp < 1.0 / 20.0).any())  # the clamp is actually exercised
    depth, _ = align_disparity_to_depth(pred, gt, mask, max_depth=20.0)
    assert float(depth.max()) == pytest.approx(20.0)
    assert bool((depth > 0).all())


# ----------------------------------------------------------------------------------------------
# AbsRel / delta
# ----------------------------------------------------------------------------------------------


def test_constant_offset_hand_computed() -> None:
    gt = torch.tensor([[1.0, 2.0], [4.0, 5.0]], dtype=torch.float64)
    pred = gt + 0.5
    valid = torch.ones_like(gt, dtype=torch.bool)
    # |0.5|/gt = 0.5, 0.25, 0.125, 0.1 -> mean 0.24375
    assert abs_rel(pred, gt, valid) == pytest.approx(0.24375)
    # ratios 1.5, 1.25, 1.125, 1.1: delta1 counts strictly < 1.25 -> 2/4; all < 1.5625
    assert delta_accuracy(pred, gt, valid, 1.25) == pytest.approx(0.5)
    assert delta_accuracy(pred, gt, valid, 1.25**2) == pytest.approx(1.0)
    # masking the first pixel: mean(0.25, 0.125, 0.1)
    valid[0, 0] = False
    assert abs_rel(pred, gt, valid) == pytest.approx(0.475 / 3)


def test_identity_prediction_is_perfect() -> None:
    gt = _gt_depth()
    metrics = evaluate_depth(1.0 / gt, gt)
    assert metrics["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["delta1"] == metrics["delta2"] == metrics["delta3"] == 1.0


def test_known_scale_shift_of_gt_disparity_is_recovered() -> None:
    gt = _gt_depth()
    pred = 7.0 * (1.0 / gt) + 0.25  # relative disparity = affine of GT disparity
    for per_frame in (False, True):
        metrics = evaluate_depth(pred, gt, per_frame=per_frame)
        assert metrics["abs_rel"] == pytest.approx(0.0, abs=1e-9)
        assert metrics["delta1"] == 1.0


def test_per_sequence_alignment_differs_from_per_frame() -> None:
    gt = _gt_depth()
    scales = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)[:, None, None]
    pred = scales * (1.0 / gt) + 0.1  # each frame has its own scale
    per_frame = evaluate_depth(pred, gt, per_frame=True)
    per_seq = evaluate_depth(pred, gt, per_frame=False)
    assert per_frame["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    assert per_seq["abs_rel"] > 0.2
    assert per_seq["delta1"] < 0.9


def test_per_frame_mode_averages_frame_metrics() -> None:
    gt = _gt_depth(2)
    pred = 1.0 / gt
    pred[1] = torch.rand(H, W, generator=torch.Generator().manual_seed(5), dtype=torch.float64) + 0.01
    frame1 = evaluate_depth(pred[1], gt[1])
    both = evaluate_depth(pred, gt, per_frame=True)
    assert both["abs_rel"] == pytest.approx(frame1["abs_rel"] / 2)
    assert both["delta1"] == pytest.approx((1.0 + frame1["delta1"]) / 2)


def test_nan_and_out_of_range_gt_are_masked() -> None:
    gt = _gt_depth()
    pred = 1.0 / gt
    gt_holes = gt.clone()
    gt_holes[0, :5] = float("nan")
    gt_holes[1, :5] = float("inf")
    gt_holes[2, :5] = 0.0
    gt_holes[3, :5] = 500.0  # beyond max_depth
    pred[:, :5] = 123.0  # garbage where GT is invalid must not matter
    mask = build_valid_mask(gt_holes, max_depth=80.0)
    assert int((~mask).sum()) == 4 * 5 * W
    metrics = evaluate_depth(pred, gt_holes, max_depth=80.0)
    assert metrics["abs_rel"] == pytest.approx(0.0, abs=1e-9)


def test_user_mask_is_applied() -> None:
    gt = _gt_depth()
    pred = 1.0 / gt
    pred[:, 0, 0] = 1e3  # wildly wrong pixel
    valid = torch.ones_like(gt, dtype=torch.bool)
    valid[:, 0, 0] = False
    assert evaluate_depth(pred, gt, valid=valid)["abs_rel"] == pytest.approx(0.0, abs=1e-9)
    assert evaluate_depth(pred, gt)["abs_rel"] > 0.0


def test_evaluate_errors() -> None:
    gt = _gt_depth()
    pred = 1.0 / gt
    bad = pred.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="pred_disparity must be finite"):
        evaluate_depth(bad, gt)
    with pytest.raises(ValueError, match="shapes must match"):
        evaluate_depth(pred[:, :-1], gt)
    with pytest.raises(ValueError, match="must not be empty"):
        evaluate_depth(pred[:0], gt[:0])
    with pytest.raises(ValueError, match="no valid pixels"):
        evaluate_depth(pred, torch.full_like(gt, float("nan")))
    with pytest.raises(ValueError, match="min_depth < max_depth"):
        evaluate_depth(pred, gt, min_depth=5.0, max_depth=1.0)
    with pytest.raises(ValueError, match="valid must be a bool tensor"):
        evaluate_depth(pred, gt, valid=torch.ones_like(gt))
    with pytest.raises(ValueError, match="threshold must be > 1"):
        delta_accuracy(gt, gt, torch.ones_like(gt, dtype=torch.bool), threshold=1.0)
    with pytest.raises(ValueError, match="valid selects no pixels"):
        abs_rel(gt, gt, torch.zeros_like(gt, dtype=torch.bool))


# ----------------------------------------------------------------------------------------------
# TAE
# ----------------------------------------------------------------------------------------------


def _rot(axis: str, deg: float) -> torch.Tensor:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    if axis == "x":
        m = [[1, 0, 0], [0, c, -s], [0, s, c]]
    else:
        m = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    return torch.tensor(m, dtype=torch.float64)


def _pose(rot: torch.Tensor, trans: tuple[float, float, float]) -> torch.Tensor:
    pose = torch.eye(4, dtype=torch.float64)
    pose[:3, :3] = rot
    pose[:3, 3] = torch.tensor(trans, dtype=torch.float64)
    return pose


def _render_plane(
    cam_to_world: torch.Tensor, normal: tuple[float, float, float], offset: float
) -> torch.Tensor:
    """Analytic z-depth [H,W] of the world plane ``normal . X = offset`` seen by an OpenCV camera."""
    v, u = torch.meshgrid(
        torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij"
    )
    pix = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # [H,W,3]
    rays = pix @ torch.linalg.inv(K).T @ cam_to_world[:3, :3].T  # [H,W,3] world rays with camera z = 1
    n = torch.tensor(normal, dtype=torch.float64)
    return (offset - n @ cam_to_world[:3, 3]) / (rays @ n)  # [H,W]


def _tilted_plane_scene() -> tuple[torch.Tensor, torch.Tensor]:
    """Three cameras translating and rotating in front of a tilted plane; returns depth [3,H,W], poses [3,4,4]."""
    poses = torch.stack(
        [
            _pose(torch.eye(3, dtype=torch.float64), (0.0, 0.0, 0.0)),
            _pose(_rot("y", 3.0) @ _rot("x", -2.0), (0.25, 0.05, 0.1)),
            _pose(_rot("y", 6.0), (0.5, -0.05, 0.2)),
        ]
    )
    depth = torch.stack([_render_plane(p, (0.1, -0.2, 1.0), 6.0) for p in poses])
    assert bool((depth > 2.0).all()) and bool((depth < 10.0).all())
    return depth, poses


def test_tae_hand_computed_forward_motion() -> None:
    # fronto-parallel wall at z=5; camera 1 moved 1 m forward: true depths 5 and 4
    poses = torch.stack(
        [
            _pose(torch.eye(3, dtype=torch.float64), (0, 0, 0)),
            _pose(torch.eye(3, dtype=torch.float64), (0, 0, 1)),
        ]
    )
    depth = torch.stack([torch.full((H, W), 5.0), torch.full((H, W), 4.0)]).double()
    assert temporal_alignment_error(depth, K, poses) == pytest.approx(0.0, abs=1e-9)
    depth[1] = 4.4  # frame 1 10 % too far: 0->1 gives |4-4.4|/4.4, 1->0 gives |5.4-5|/5
    expected = 100 * (0.4 / 4.4 + 0.4 / 5.0) / 2
    assert temporal_alignment_error(depth, K, poses) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("mode", "bound"), [("bilinear", 0.05), ("nearest", 0.5)])
def test_tae_ground_truth_is_near_zero(mode: str, bound: float) -> None:
    depth, poses = _tilted_plane_scene()
    tae = temporal_alignment_error(depth, K, poses, mode=mode)  # measured: 2.5e-4 bilinear, 0.086 nearest
    assert 0.0 <= tae < bound


def test_tae_per_frame_intrinsics_and_float32() -> None:
    depth, poses = _tilted_plane_scene()
    shared = temporal_alignment_error(depth, K, poses)
    per_frame = temporal_alignment_error(depth.float(), K.expand(3, 3, 3).float(), poses.float())
    assert per_frame == pytest.approx(shared, abs=0.01)


def test_tae_detects_scaled_frame() -> None:
    depth, poses = _tilted_plane_scene()
    depth[1] *= 1.1
    assert temporal_alignment_error(depth, K, poses) > 3.0  # measured 9.56


def test_tae_detects_perturbed_pose() -> None:
    depth, poses = _tilted_plane_scene()
    poses[1, :3, 3] += torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64)  # 30 cm forward error
    tae_z = temporal_alignment_error(depth, K, poses)
    depth, poses = _tilted_plane_scene()
    poses[2, :3, :3] = poses[2, :3, :3] @ _rot("x", 4.0)  # 4 degree tilt error
    tae_rot = temporal_alignment_error(depth, K, poses)
    assert tae_z > 2.0  # measured 5.1
    assert tae_rot > 0.5  # measured 0.86 (only the 2 pairs touching frame 2 change), GT scene: 2.5e-4


def test_tae_invalid_pixels_are_excluded() -> None:
    depth, poses = _tilted_plane_scene()
    depth[1, :10] = float("inf")
    depth[2, :, :10] = 0.0
    depth[0, 20:30, 20:30] = float("nan")
    valid = torch.isfinite(depth)
    depth[1, 10:20] = 99.0  # garbage masked out by the user
    valid[1, 10:20] = False
    assert temporal_alignment_error(depth, K, poses, valid=valid) < 0.05


def test_tae_errors() -> None:
    depth, poses = _tilted_plane_scene()
    with pytest.raises(ValueError, match="T >= 2"):
        temporal_alignment_error(depth[:1], K, poses[:1])
    with pytest.raises(ValueError, match=r"depth must be \[T,H,W\]"):
        temporal_alignment_error(depth[0], K, poses)
    with pytest.raises(ValueError, match=r"cam_to_world must be \[T,4,4\]"):
        temporal_alignment_error(depth, K, poses[:2])
    with pytest.raises(ValueError, match=r"intrinsics must be \[3,3\] or \[T,3,3\]"):
        temporal_alignment_error(depth, K.expand(2, 3, 3), poses)
    with pytest.raises(ValueError, match="mode must be one of"):
        temporal_alignment_error(depth, K, poses, mode="bicubic")
    scaled = poses.clone()
    scaled[1, :3, :3] *= 2.0
    with pytest.raises(ValueError, match="rigid"):
        temporal_alignment_error(depth, K, scaled)
    nan_depth = depth.clone()
    nan_depth[1, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        temporal_alignment_error(nan_depth, K, poses)
    with pytest.raises(ValueError, match="valid must be a bool tensor"):
        temporal_alignment_error(depth, K, poses, valid=torch.ones(3, H, W))
    far = poses.clone()
    far[1, :3, 3] = torch.tensor([1e3, 0.0, 0.0], dtype=torch.float64)  # no overlap anywhere
    with pytest.raises(ValueError, match="no frame pair has any valid overlap"):
        temporal_alignment_error(depth, K, far)
