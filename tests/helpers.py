"""What the tests share: clips and plates on disk, the tiny reference model, the `dav` CLI run in-process and
the node pack loaded the way ComfyUI loads it."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("DAV_REFERENCE_DIR", REPO.parent / "shared" / "reference" / "dav_official"))
PACK_NAME = "comfyui_depth_any_video"


# --------------------------------------------------------------------------- the node pack


def load_pack():
    """The repository root imported as ComfyUI imports a custom node folder (once per session)."""
    pack = sys.modules.get(PACK_NAME)
    if pack is None:
        spec = importlib.util.spec_from_file_location(
            PACK_NAME, REPO / "__init__.py", submodule_search_locations=[str(REPO)]
        )
        pack = importlib.util.module_from_spec(spec)
        sys.modules[PACK_NAME] = pack
        try:
            spec.loader.exec_module(pack)
        except BaseException:
            del sys.modules[PACK_NAME]
            raise
    return pack


def pack_core():
    """The ``dav_core`` the nodes use: patch this one for a node to see the patch."""
    load_pack()
    own = sys.modules.get(f"{PACK_NAME}.dav_core")
    return own if own is not None else importlib.import_module("dav_core")


def node_classes() -> Mapping[str, type]:
    """Every class the pack's node modules define or import, by name (the nodes and their helpers)."""
    nodes = load_pack().nodes
    return {
        name: value
        for module in (nodes.model, nodes.io, nodes.plates, nodes.depth, nodes.image)
        for name, value in vars(module).items()
        if isinstance(value, type)
    }


# --------------------------------------------------------------------------- the tiny model


def tiny_dav_dir() -> Path:
    """The tiny official-architecture model folder; skips (fails on CI) where the reference data is absent."""
    if not (REFERENCE / "tiny_dav").is_dir():
        message = f"official reference outputs not found at {REFERENCE} (set DAV_REFERENCE_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REFERENCE / "tiny_dav"


@functools.cache
def tiny_model():
    """The tiny model, loaded once."""
    from dav_core.models.loading import load_dav

    return load_dav(tiny_dav_dir())


# --------------------------------------------------------------------------- the `dav` command line


@dataclass
class DavRun:
    """What one ``dav`` run returned and printed; ``errors`` are its ``error:`` lines."""

    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def run_dav(*args) -> DavRun:
    """``dav ARGS`` in this process: exit code (argparse's exits included), stdout and stderr."""
    from dav_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
    return DavRun(code, out.getvalue(), err.getvalue())


def synth_parser():
    """A ``dav`` parser with only ``dav synth``; ``args.func(args)`` runs it without the CLI's error handling."""
    import argparse

    from dav_core.synthetic.command import register

    parser = argparse.ArgumentParser(prog="dav")
    register(parser.add_subparsers(dest="command"))
    return parser


# --------------------------------------------------------------------------- training

CONFIGS = REPO / "training" / "configs"
BUNDLE = REPO / "dav_core" / "weights" / "dav_tiny.safetensors"


def training_args(data: Path, out: Path, *extra: str, config: str = "debug") -> list[str]:
    """Command-line arguments of a training run on ``data`` writing to ``out``, from ``configs/<config>.yaml``."""
    return ["--config", str(CONFIGS / f"{config}.yaml"), f"data.dataset_dir={data}", f"output_dir={out}", *extra]


# --------------------------------------------------------------------------- clips


def write_mp4(path: Path, frames, fps: float = 24, codec: str = "libx264", crf: int | None = 0,
              pix_fmt: str | None = None, pts: Sequence[int] | None = None) -> Path:
    """Encode frames [N,H,W,3] (uint8, or float in [0,1]) with PyAV. ``crf=0`` with libx264 is lossless
    (4:4:4); ``crf=None`` keeps the codec's default; ``pts`` gives irregular timestamps (1/fps units)."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = (frames * 255).round().astype(np.uint8)
    libx264 = codec == "libx264"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt or ("yuv444p" if libx264 and crf == 0 else "yuv420p")
        if libx264 and crf is not None:
            stream.options = {"crf": str(crf)}
        if not len(frames):
            container.start_encoding()
            return path
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, int(fps))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def read_mp4(path: Path) -> np.ndarray:
    """Every frame of a video as uint8 RGB [N,H,W,3]."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def random_frames(count: int = 3, height: int = 64, width: int = 64, seed: int = 0):
    """Seeded uniform noise as an IMAGE batch: float32 tensor [N,H,W,3] in [0,1)."""
    import torch

    return torch.rand(count, height, width, 3, generator=torch.Generator().manual_seed(seed))


def bar_frames(count: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A bright bar moving over a gradient, uint8: neighbouring frames differ."""
    height, width = size
    frames = np.tile(np.linspace(0, 200, width, dtype=np.uint8)[None, None, :, None], (count, height, 1, 3))
    for i, frame in enumerate(frames):
        frame[:, (i * 5) % width : (i * 5) % width + 6] = 255
    return frames


def write_video(path: Path, count: int = 6, size: tuple[int, int] = (48, 64), fps: float = 12, **options) -> Path:
    """A clip of :func:`bar_frames`, H.264 at the codec's default quality unless ``options`` say otherwise
    (any argument of :func:`write_mp4`)."""
    return write_mp4(path, bar_frames(count, size), fps, **{"crf": None, **options})


def gray_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frame i is a flat gray of level 10 * i, so decoded frames identify themselves."""
    return np.stack([np.full((height, width, 3), 10 * i, dtype=np.uint8) for i in range(count)])


def moving_square(n: int, h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A bright square moving over a gradient: [N,H,W,3] float32 in [0,1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    frames = np.empty((n, h, w, 3), np.float32)
    for i in range(n):
        frame = np.stack([xx, yy, 0.5 * (xx + yy)], axis=-1) * 0.6
        x = (i * 2) % max(1, w - 10)
        frame[h // 4 : h // 4 + 10, x : x + 10] = rng.uniform(0.7, 1.0, 3)
        frames[i] = frame
    return frames


def write_test_clip(path: Path, frames: int = 12, size: int = 64) -> Path:
    """The benchmark's clip (``dav bench``): a textured square moving over a gradient."""
    from dav_core.commands.bench import write_test_video

    write_test_video(path, frames, size)
    return path


# --------------------------------------------------------------------------- plates (numbered images)


def write_image(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    """One image: uint8 [H,W,3] or [H,W] (8-bit), uint16 [H,W] (16-bit PNG), float32 [H,W,3] to .exr;
    ``mode`` converts with PIL first ("L", "RGBA", "P")."""
    if path.suffix == ".exr":
        import OpenEXR

        with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"RGB": array}) as exr:
            exr.write(str(path))
        return path
    from PIL import Image

    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)
    return path


def write_plate(folder: Path, frames, pattern: str = "frame_{:06d}.png") -> Path:
    """A numbered image sequence in ``folder`` (created): ``frames`` a sequence named by ``pattern``, or a
    mapping of file name to image. Formats as in :func:`write_image`."""
    folder.mkdir(parents=True, exist_ok=True)
    named = frames.items() if isinstance(frames, Mapping) else ((pattern.format(i), f) for i, f in enumerate(frames))
    for name, array in named:
        write_image(folder / name, array)
    return folder
