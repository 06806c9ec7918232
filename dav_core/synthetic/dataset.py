"""Clips in memory (:class:`SyntheticClip`) and on disk (one folder per clip; see README.md).

Layout of ``<dataset>/clip_000042/``::

    rgb.mp4            lossless H.264 RGB (libx264rgb, qp 0): decodes to exactly the rendered uint8 frames
                       (rgb/000000.png ... instead when the FFmpeg inside PyAV lacks libx264rgb)
    depth.safetensors  "depth": float32 [T,H,W] metres (z along the optical axis), 0 where invalid;
                       "valid": uint8 [T,H,W] (1 = valid depth)
    meta.json          intrinsics, camera-to-world poses, fps, timestamps, scene type, seed, ... (written last)

A clip folder is created under a temporary name and renamed into place only once every file is complete,
so a folder named ``clip_XXXXXX`` is always whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

FORMAT_NAME = "dav-synthetic"
FORMAT_VERSION = 1
CLIP_PREFIX = "clip_"
TMP_PREFIX = ".tmp-"


@dataclass
class SyntheticClip:
    rgb: np.ndarray  # [T,H,W,3] uint8
    depth: np.ndarray  # [T,H,W] float32 metres, 0 where invalid
    valid: np.ndarray  # [T,H,W] bool
    intrinsics: np.ndarray  # [3,3] OpenCV pixels
    poses: np.ndarray  # [T,4,4] camera-to-world, OpenCV camera axes, y-up world
    fps: float
    scene_type: str
    seed: int
    timestamps: np.ndarray | None = None  # [T] seconds
    meta: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[2])


def clip_dirname(index: int) -> str:
    return f"{CLIP_PREFIX}{index:06d}"


# ---------------------------------------------------------------------------------------------- rendering


def render_clip(spec, renderer, effects="none") -> SyntheticClip:
    """Render a :class:`~dav_core.synthetic.generators.ClipSpec` with a renderer into a clip.

    ``effects``: "none" (default: the clean render), "auto" (camera/sensor effects sampled from the clip
    seed, :func:`~dav_core.synthetic.sensor.sample_sensor`; haze only for open-air scenes) or a :class:`~dav_core.synthetic.sensor.SensorEffects`.
    Effects change only the RGB; depth, validity, poses and intrinsics stay exact.
    """
    from . import __version__
    from .sensor import haze_allowed, render_with_sensor, resolve_effects

    sensor = resolve_effects(effects, spec.seed, haze_allowed(spec.scene.scene_type, spec.scene.info))
    if sensor is None or sensor.clean:
        res, sensor_meta = renderer.render(spec.scene, spec.track), ({} if sensor is None else sensor.to_meta())
    else:
        res, info = render_with_sensor(renderer, spec.scene, spec.track, sensor)
        sensor_meta = {**sensor.to_meta(), **info}
    scene = spec.scene
    meta = {
        "trajectory": _jsonable(spec.trajectory),
        "backend": renderer.name,
        "renderer": getattr(renderer, "info", ""),
        "max_depth": float(scene.max_depth),
        "near": float(spec.track.near),
        "far": float(spec.track.far),
        "num_primitives": len(scene.primitives),
        "num_moving": sum(p.motion is not None for p in scene.primitives),
        "lights": [{"kind": lt.kind, "cast_shadow": lt.cast_shadow} for lt in scene.lights],
        "scene_info": _jsonable(scene.info),
        "generator": f"dav_core.synthetic {__version__}",
        "sensor": sensor_meta,
    }
    return SyntheticClip(
        rgb=res.rgb,
        depth=res.depth,
        valid=res.valid,
        intrinsics=spec.track.K.copy(),
        poses=spec.track.c2w.copy(),
        fps=float(spec.fps),
        scene_type=scene.scene_type,
        seed=int(spec.seed),
        timestamps=spec.track.times.copy(),
        meta=meta,
    )


def generate_clip(
    seed: int,
    frames: int | tuple[int, int] = 32,
    size: tuple[int, int] = (128, 128),
    backend: str = "auto",
    renderer=None,
    scene_type: str | None = None,
    effects="none",
) -> SyntheticClip:
    """Sample and render one clip. Pass ``renderer`` to reuse a GL context across clips; ``effects`` as in
    :func:`render_clip` ("none": clean, "auto": sampled camera/sensor effects)."""
    from .generators import sample_clip
    from .renderer import create_renderer

    spec = sample_clip(seed, frames, size[0], size[1], scene_type=scene_type)
    own = renderer is None
    renderer = create_renderer(backend) if own else renderer
    try:
        return render_clip(spec, renderer, effects=effects)
    finally:
        if own:
            renderer.close()


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


# ---------------------------------------------------------------------------------------------- writing


def _have_x264rgb() -> bool:
    try:
        import av

        return "libx264rgb" in av.codecs_available
    except Exception:
        return False


def _write_mp4(path: Path, rgb: np.ndarray, fps: float) -> None:
    import av

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264rgb", rate=rate)
        stream.width, stream.height = int(rgb.shape[2]), int(rgb.shape[1])
        stream.pix_fmt = "rgb24"
        stream.options = {"qp": "0", "preset": "veryfast"}
        stream.thread_type = "NONE"
        stream.codec_context.thread_count = 1
        for frame in rgb:
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _read_mp4(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return np.stack(frames)


def write_clip(
    clip: SyntheticClip, path: str | Path, rgb_format: str = "auto", depth_dtype: str = "float32"
) -> Path:
    """Write ``clip`` to the folder ``path`` atomically (temp folder + rename). Existing ``path`` is replaced.

    ``rgb_format``: "mp4" (lossless libx264rgb), "png" (one PNG per frame) or "auto" (mp4 when available).
    ``depth_dtype``: "float32" (default, exact) or "float16" (half the size, ~1e-3 relative error).
    """
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if rgb_format == "auto":
        rgb_format = "mp4" if _have_x264rgb() else "png"
    if rgb_format not in ("mp4", "png"):
        raise ValueError(f"rgb_format must be mp4, png or auto, not {rgb_format!r}")
    if depth_dtype not in ("float32", "float16"):
        raise ValueError(f"depth_dtype must be float32 or float16, not {depth_dtype!r}")
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent))
    try:
        T, H, W = clip.depth.shape
        if rgb_format == "mp4":
            _write_mp4(tmp / "rgb.mp4", clip.rgb, clip.fps)
            rgb_file = "rgb.mp4"
        else:
            from PIL import Image

            (tmp / "rgb").mkdir()
            for i, frame in enumerate(clip.rgb):
                Image.fromarray(frame).save(tmp / "rgb" / f"{i:06d}.png", compress_level=3)
            rgb_file = "rgb/"
        save_file(
            {
                "depth": np.ascontiguousarray(clip.depth.astype(depth_dtype)),
                "valid": np.ascontiguousarray(clip.valid.astype(np.uint8)),
            },
            str(tmp / "depth.safetensors"),
        )
        ts = clip.timestamps if clip.timestamps is not None else np.arange(T) / clip.fps
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "seed": int(clip.seed),
            "scene_type": clip.scene_type,
            "frames": int(T),
            "height": int(H),
            "width": int(W),
            "fps": float(clip.fps),
            "timestamps": [float(t) for t in ts],
            "intrinsics": np.asarray(clip.intrinsics, np.float64).tolist(),
            "poses_c2w": np.asarray(clip.poses, np.float64).tolist(),
            "conventions": {
                "camera": "OpenCV (x right, y down, z forward); pixel centre of the top-left pixel at (0, 0)",
                "world": "right-handed, y up, metres",
                "poses": "camera-to-world 4x4",
                "depth": "z-depth along the optical axis in metres; 0 where valid == 0 (sky / beyond max_depth)",
            },
            "files": {"rgb": rgb_file, "depth": "depth.safetensors"},
            "rgb_format": rgb_format,
            "depth_dtype": depth_dtype,
            "valid_fraction": float(clip.valid.mean()),
            **{k: v for k, v in _jsonable(clip.meta).items() if k not in ("format", "version")},
        }
        with open(tmp / "meta.json", "w") as f:
            json.dump(meta, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if path.exists():
            shutil.rmtree(path)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ---------------------------------------------------------------------------------------------- reading


def is_complete(path: str | Path) -> bool:
    """True for a finished clip folder (never true for a temp folder of an interrupted write)."""
    path = Path(path)
    if path.name.startswith(TMP_PREFIX) or not (path / "meta.json").is_file():
        return False
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    rgb = path / meta.get("files", {}).get("rgb", "rgb.mp4")
    return meta.get("format") == FORMAT_NAME and (path / "depth.safetensors").is_file() and rgb.exists()


def load_meta(path: str | Path) -> dict:
    return json.loads((Path(path) / "meta.json").read_text())


def load_clip(path: str | Path) -> SyntheticClip:
    """Read one clip folder written by :func:`write_clip`."""
    from safetensors.numpy import load_file

    path = Path(path)
    if not is_complete(path):
        raise FileNotFoundError(f"{path} is not a complete {FORMAT_NAME} clip folder")
    meta = load_meta(path)
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: format version {meta['version']} is newer than this reader ({FORMAT_VERSION})"
        )
    tensors = load_file(str(path / "depth.safetensors"))
    if meta.get("rgb_format", "mp4") == "png":
        from PIL import Image

        files = sorted((path / "rgb").glob("*.png"))
        rgb = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    else:
        rgb = _read_mp4(path / "rgb.mp4")
    depth = tensors["depth"].astype(np.float32)
    if rgb.shape[:3] != depth.shape:
        raise ValueError(f"{path}: rgb {rgb.shape} and depth {depth.shape} disagree")
    return SyntheticClip(
        rgb=rgb,
        depth=depth,
        valid=tensors["valid"].astype(bool),
        intrinsics=np.asarray(meta["intrinsics"], np.float64),
        poses=np.asarray(meta["poses_c2w"], np.float64),
        fps=float(meta["fps"]),
        scene_type=meta["scene_type"],
        seed=int(meta["seed"]),
        timestamps=np.asarray(meta.get("timestamps", np.arange(len(rgb)) / meta["fps"]), np.float64),
        meta=meta,
    )


def clip_dirs(dataset_dir: str | Path) -> list[Path]:
    """Complete clip folders in a dataset directory, sorted by name."""
    root = Path(dataset_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory {root} does not exist")
    return sorted(
        p for p in root.iterdir() if p.is_dir() and p.name.startswith(CLIP_PREFIX) and is_complete(p)
    )


def iter_clips(dataset_dir: str | Path) -> Iterator[SyntheticClip]:
    """Yield every complete clip of a dataset directory in name order (temp/incomplete folders skipped)."""
    for p in clip_dirs(dataset_dir):
        yield load_clip(p)
