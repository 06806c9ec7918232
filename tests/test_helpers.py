"""The shared test helpers themselves: the pack as ComfyUI loads it, in-process `dav`, lossless clips."""

from __future__ import annotations

import sys

import numpy as np

from tests.helpers import PACK_NAME, load_pack, moving_square, read_mp4, run_dav, write_mp4


def test_the_pack_is_loaded_once_as_a_package_and_its_nodes_are_its_own():
    pack = load_pack()
    assert load_pack() is pack is sys.modules[PACK_NAME]
    assert pack.nodes.__name__ == f"{PACK_NAME}.nodes"
    assert pack.NODE_CLASS_MAPPINGS == pack.nodes.NODE_CLASS_MAPPINGS and len(pack.NODE_CLASS_MAPPINGS) == 13


def test_run_dav_reports_exit_code_and_error_lines(tmp_path):
    run = run_dav("depth", tmp_path / "missing.mp4", "--output", tmp_path / "out")
    assert run.code == 2 and len(run.errors) == 1 and "missing.mp4" in run.errors[0], run.err
    assert run_dav("depth", "--format").code == 2  # argparse exits


def test_write_mp4_is_lossless_by_default_up_to_colour_conversion(tmp_path):
    frames = moving_square(5, 32, 48)
    decoded = read_mp4(write_mp4(tmp_path / "clip.mp4", frames)).astype(int)
    assert np.abs(decoded - (frames * 255).round()).max() <= 1  # RGB -> YUV 4:4:4 rounding only
