"""Property and edge-case tests for the long-video planner (dav_core.longvideo.plan)."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dav_core.decoding import plan_chunks
from dav_core.longvideo import plan_long_video
from dav_core.longvideo.plan import VideoPlan


def check_plan(plan: VideoPlan) -> None:
    """Assert every invariant the planner promises."""
    n, kf = plan.num_frames, plan.keyframes
    keyset = set(kf)
    # keyframes: sorted, unique, real frames, include both ends
    assert list(kf) == sorted(keyset)
    assert all(0 <= f < n for f in kf)
    assert kf[0] == 0 and kf[-1] == n - 1

    # passes: bounded, cover all keyframes, consecutive passes share the anchors
    passes = plan.keyframe_passes
    assert passes[0].anchors == ()
    for p in passes:
        assert 1 <= len(p.frames) <= plan.max_keyframes_per_pass
        assert list(p.frames) == sorted(set(p.frames))
        assert set(p.frames) <= keyset
    for prev, cur in pairwise(passes):
        assert len(cur.anchors) == plan.pass_overlap
        assert cur.frames[: plan.pass_overlap] == cur.anchors
        assert cur.anchors == prev.frames[len(prev.frames) - plan.pass_overlap :]
        assert len(cur.new_frames) >= 1
    new = [f for p in passes for f in p.new_frames]
    assert new == list(kf)  # each keyframe solved exactly once, in order

    # windows: bounded, ends are keyframes, sorted, carry at least one generated frame
    for w in plan.windows:
        assert 0 <= w.start < w.end < n
        assert len(w) <= plan.window and len(w.frames) == len(w)
        assert w.frames == tuple(range(w.start, w.end + 1))
        assert w.start in keyset and w.end in keyset
        assert len(w.weights) == len(w.frames)
        assert all(0.0 <= x <= 1.0 for x in w.weights)
        assert w.weights[0] == 0.0 and w.weights[-1] == 0.0
        assert any(f not in keyset for f in w.frames[1:-1])
    assert list(plan.windows) == sorted(plan.windows, key=lambda w: (w.start, w.end))

    # every frame: a keyframe (weight 1 from its pass) or blended from windows whose weights sum to 1
    totals = [1.0 if f in keyset else 0.0 for f in range(n)]
    for w in plan.windows:
        for f, weight in zip(w.frames, w.weights, strict=True):
            assert weight == 0.0 or w.start < f < w.end
            totals[f] += weight
    assert all(math.isclose(t, 1.0, abs_tol=1e-9) for t in totals), totals

    # single window iff everything fits one pass
    assert plan.is_single_window == (n <= plan.max_keyframes_per_pass)
    if plan.is_single_window:
        assert kf == tuple(range(n)) and not plan.windows

    # streaming view
    last_cover = [-1] * n
    for i, w in enumerate(plan.windows):
        for f in range(w.start, w.end + 1):
            last_cover[f] = max(last_cover[f], i)
    assert list(plan.last_window_for_frame) == last_cover
    schedule = plan.release_schedule()
    assert len(schedule) == len(plan.windows) + 1
    assert [f for step in schedule for f in step] == list(range(n))
    for step, frames in enumerate(schedule):
        assert all(plan.last_window_for_frame[f] <= step - 1 for f in frames)

    # accounting
    expected = sum(len(p.frames) for p in passes) + sum(len(w) for w in plan.windows)
    assert plan.unet_frame_passes == expected


@pytest.mark.parametrize(
    "window,overlap,max_kf,pass_overlap",
    [(8, 0, 32, 2), (8, 3, 32, 2), (3, 0, 2, 1), (16, 13, 40, 0), (5, 2, 7, 3), (4, 1, 3, 0)],
)
def test_exhaustive_lengths(window: int, overlap: int, max_kf: int, pass_overlap: int) -> None:
    for n in range(1, 501):
        check_plan(
            plan_long_video(
                n, window=window, overlap=overlap, max_keyframes_per_pass=max_kf, pass_overlap=pass_overlap
            )
        )


@st.composite
def plan_args(draw):
    window = draw(st.integers(3, 16))
    overlap = draw(st.integers(0, window - 3))
    max_kf = draw(st.integers(2, 40))
    pass_overlap = draw(st.integers(0, max_kf - 1))
    n = draw(st.integers(1, 500))
    return n, window, overlap, max_kf, pass_overlap


@settings(max_examples=300, deadline=None)
@given(plan_args())
def test_random_settings(args) -> None:
    n, window, overlap, max_kf, pass_overlap = args
    check_plan(
        plan_long_video(
            n, window=window, overlap=overlap, max_keyframes_per_pass=max_kf, pass_overlap=pass_overlap
        )
    )


def test_one_and_two_frames() -> None:
    p1 = plan_long_video(1)
    assert p1.keyframes == (0,) and p1.is_single_window and p1.unet_frame_passes == 1
    assert p1.keyframe_passes[0].frames == (0,) and not p1.windows
    p2 = plan_long_video(2, max_keyframes_per_pass=2, pass_overlap=1)
    assert p2.keyframes == (0, 1) and p2.is_single_window


def test_shorter_than_window_but_over_pass_limit() -> None:
    plan = plan_long_video(6, window=8, max_keyframes_per_pass=4)
    assert plan.keyframes == (0, 5)
    assert [(w.start, w.end) for w in plan.windows] == [(0, 5)]
    check_plan(plan)


def test_overlap_zero_spacing_is_even() -> None:
    # 100 frames, window 8 -> ceil(99/7) = 15 gaps of 6 or 7 frames, windows touch at keyframes
    plan = plan_long_video(100, window=8, max_keyframes_per_pass=32)
    gaps = {b - a for a, b in pairwise(plan.keyframes)}
    assert len(plan.keyframes) == 16 and gaps <= {6, 7}
    assert all(a.end == b.start for a, b in pairwise(plan.windows))


def test_odd_length_not_fitting_stride() -> None:
    plan = plan_long_video(101, window=8, overlap=0, max_keyframes_per_pass=8)
    check_plan(plan)
    assert plan.keyframes[-1] == 100 and len(plan.keyframe_passes) > 1


def test_overlap_crossfades_linearly() -> None:
    plan = plan_long_video(40, window=8, overlap=3, max_keyframes_per_pass=8)
    first, second = plan.windows[0], plan.windows[1]
    assert (first.start, first.end, second.start, second.end) == (0, 7, 4, 11)
    # frames 5 and 6 are shared; window 0 fades out linearly while window 1 fades in
    w0 = dict(zip(first.frames, first.weights, strict=True))
    w1 = dict(zip(second.frames, second.weights, strict=True))
    assert w0[5] == pytest.approx(2 / 3) and w0[6] == pytest.approx(1 / 3)
    assert w1[5] == pytest.approx(1 / 3) and w1[6] == pytest.approx(2 / 3)


def test_passes_balanced_and_anchored() -> None:
    plan = plan_long_video(1000, window=8, max_keyframes_per_pass=32, pass_overlap=2)
    sizes = [len(p.frames) for p in plan.keyframe_passes]
    assert max(sizes) - min(sizes) <= 1 and max(sizes) <= 32
    assert all(len(p.anchors) == 2 for p in plan.keyframe_passes[1:])


def test_unet_cost_reported() -> None:
    plan = plan_long_video(99, window=8, max_keyframes_per_pass=32, pass_overlap=0)
    # 15 keyframes (gaps of 7) + 14 windows of 8 frames
    assert plan.unet_frame_passes == 15 + 14 * 8
    assert plan.unet_frames_per_output_frame == pytest.approx((15 + 14 * 8) / 99)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(num_frames=0), "num_frames"),
        (dict(num_frames=10, window=2), "window"),
        (dict(num_frames=10, window=8, overlap=6), "overlap"),
        (dict(num_frames=10, overlap=-1), "overlap"),
        (dict(num_frames=10, max_keyframes_per_pass=1), "max_keyframes_per_pass"),
        (dict(num_frames=10, max_keyframes_per_pass=4, pass_overlap=4), "pass_overlap"),
        (dict(num_frames=10.0), "num_frames"),
        (dict(num_frames=True), "num_frames"),
    ],
)
def test_validation_names_parameter(kwargs, name) -> None:
    n = kwargs.pop("num_frames")
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        plan_long_video(n, **kwargs)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 500), st.integers(1, 64), st.data())
def test_chunk_weights_sum_to_one(n: int, chunk: int, data) -> None:
    overlap = data.draw(st.integers(0, chunk - 1))
    plan = plan_chunks(n, chunk, overlap)
    covered = [0.0] * n
    for c in plan.chunks:
        assert 0 <= c.start < c.stop <= n and c.stop - c.start <= chunk
        assert len(c.weights) == c.stop - c.start
        for i, w in enumerate(c.weights):
            assert 0.0 < w <= 1.0
            covered[c.start + i] += w
    assert all(math.isclose(x, 1.0, abs_tol=1e-9) for x in covered)
    for a, b in pairwise(plan.chunks):
        assert a.start < b.start
        assert a.stop - b.start >= overlap  # neighbours share at least `overlap` frames


def test_chunks_linear_crossfade_and_validation() -> None:
    plan = plan_chunks(10, 4, 2)
    assert [(c.start, c.stop) for c in plan.chunks] == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert plan.chunks[0].weights == pytest.approx((1.0, 1.0, 2 / 3, 1 / 3))
    assert len(plan_chunks(3, 8, 4).chunks) == 1
    with pytest.raises(ValueError, match="^overlap must be in"):
        plan_chunks(10, 4, 4)
    with pytest.raises(ValueError, match="^chunk must be"):
        plan_chunks(10, 0)
