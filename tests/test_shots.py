"""Several shots in one `dav depth` call without Ray: one folder per shot, name clashes refused before any
work, a bad shot failing alone, a --shots list; and --workers without Ray installed naming the install."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.helpers import bar_frames, run_dav, write_plate, write_video

SMALL = ("--max-resolution", "64", "--format", "npy", "--no-progress")


@pytest.mark.slow  # three runs of the bundled model: ~20-30 s on 2 shared cores
def test_shots_each_get_their_folder_and_match_single_runs(tmp_path):
    a = write_video(tmp_path / "a.mp4", 5, (24, 32))
    b = write_plate(tmp_path / "b", bar_frames(4, (24, 32)))
    run = run_dav("depth", a, b, "--output", tmp_path / "root", *SMALL)
    assert run.code == 0, run.err
    assert "2 shots written" in run.err
    alone = run_dav("depth", a, "--output", tmp_path / "alone", *SMALL)
    assert alone.code == 0, alone.err
    assert np.array_equal(np.load(tmp_path / "root" / "a" / "depth.npy"), np.load(tmp_path / "alone" / "depth.npy"))
    assert np.load(tmp_path / "root" / "b" / "depth.npy").shape == (4, 24, 32)


def test_a_sequence_pattern_is_a_shot_named_like_the_sequence(tmp_path):
    write_plate(tmp_path / "plates", bar_frames(3, (24, 32)), pattern="sh010_plate.{:04d}.png")
    write_video(tmp_path / "a.mp4", 3, (24, 32))
    run = run_dav("depth", tmp_path / "plates" / "sh010_plate.####.png", tmp_path / "a.mp4", "--output", tmp_path / "root", *SMALL)
    assert run.code == 0, run.err
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["a", "sh010_plate"]


def test_name_clash_is_refused_before_any_work(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        write_video(tmp_path / folder / "shot.mp4", 3, (24, 32))
    run = run_dav("depth", tmp_path / "x" / "shot.mp4", tmp_path / "y" / "shot.mp4", "--output", tmp_path / "root", *SMALL)
    assert run.code == 2
    assert len(run.errors) == 1 and "'shot'" in run.errors[0] and "--shots" in run.errors[0]
    assert not (tmp_path / "root").exists()


@pytest.mark.slow
def test_shot_list_names_and_a_bad_shot_failing_alone(tmp_path):
    write_video(tmp_path / "a.mp4", 3, (24, 32))
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    (tmp_path / "list.txt").write_text("# shots of the reel\na.mp4 first  # named\nbroken.mp4\n\n")
    run = run_dav("depth", "--shots", tmp_path / "list.txt", "--output", tmp_path / "root", *SMALL)
    assert run.code == 1
    assert np.load(tmp_path / "root" / "first" / "depth.npy").shape == (3, 24, 32)
    assert any(line.startswith("shot broken failed:") for line in run.err.splitlines())
    assert "1 of 2 shots failed: broken" in run.err


def test_workers_without_ray_name_the_install(tmp_path, monkeypatch):
    clip = write_video(tmp_path / "a.mp4", 3, (24, 32))
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as where it is not installed
    run = run_dav("depth", clip, "--output", tmp_path / "out", "--workers", "2", *SMALL)
    assert run.code == 2
    assert run.errors == ['error: --workers needs Ray, which is not installed: pip install "comfyui-depth-any-video[ray]"']


@pytest.mark.parametrize("line", ["a.mp4 b c", "'a.mp4"])
def test_bad_shot_list_lines_are_named(tmp_path, line):
    (tmp_path / "list.txt").write_text(line + "\n")
    run = run_dav("depth", "--shots", tmp_path / "list.txt", "--output", tmp_path / "root", *SMALL)
    assert run.code == 2 and "line 1" in run.errors[0]
