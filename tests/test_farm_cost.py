"""The farm's cost model: the speed-up formula of dav_core.farm.cost on stage times given by hand."""

from __future__ import annotations

import itertools

import pytest

from dav_core.farm.cost import projected_speedup, projection_table, stage_split


def test_one_shot_is_bounded_by_its_keyframe_chain():
    times = {"keyframes": 2.0, "windows": 6.0, "decode": 2.0, "write": 0.0}
    assert stage_split(times) == (2.0, 8.0, 0.0)
    assert projected_speedup(times, 1) == pytest.approx(1.0)
    assert projected_speedup(times, 4) == pytest.approx(10.0 / (2.0 + 8.0 / 4))
    assert projected_speedup(times, 10**6) < 10.0 / 2.0  # never past T1 / K


def test_many_shots_hide_the_chain_until_the_driver_writes_are_the_bound():
    times = {"keyframes": 2.0, "windows": 6.0, "decode": 2.0, "write": 1.0}
    assert projected_speedup(times, 2, many_shots=True) == pytest.approx(11.0 / 5.0)
    assert projected_speedup(times, 16, many_shots=True) == pytest.approx(11.0 / 1.0)  # writes bound it
    rows = projection_table(times)
    assert [r["workers"] for r in rows] == [1, 2, 4, 8, 16]
    assert all(a["many_shots"] <= b["many_shots"] for a, b in itertools.pairwise(rows))
