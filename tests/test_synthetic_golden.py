"""Golden hashes of generated synthetic clips: any change to the random draws or to the scene construction
of a scene family (room, corridor, street, terrain) changes a hash here.

The scene-description hashes cover everything :func:`sample_clip` returns (primitives with their shapes,
poses, materials, motions and meshes; lights; environment; bounds; scene info; camera poses, times,
intrinsics, fps and trajectory), with floats rounded to 6 decimals. They depend only on numpy. The rendered
hashes additionally pin the torch ray caster's output on tiny clips (exact uint8 RGB, depth rounded to
1e-4 m, validity mask, textures from scikit-image); a new torch version or a renderer change may
legitimately move those.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from dav_core.synthetic import SCENE_TYPES, render_clip, sample_clip
from dav_core.synthetic.raycast import RaycastRenderer

pytestmark = pytest.mark.usefixtures("single_thread")

DECIMALS = 6

# (scene type, seed) -> sha256 of the scene description of sample_clip(seed, 8, 32, 32, scene_type)
SCENE_GOLDEN = {
    ("room", 1): "f7fb57cf0be6be8419804bcbdd5cef1312811e69db4af62d21db3fde96678062",
    ("room", 11): "827113016df13a455130afabff10e00e4aa06606b06400aafd3f08744560c62b",
    ("corridor", 2): "020160df467b675172cc3f0221da7efea01b1269ecc964137123a850860bb270",
    ("corridor", 12): "296956c712ee09894132450cd9121612924321d971a6ee8c90467ff744390b4e",
    ("street", 3): "4b08fd17878b098662c8cd81e036ad1f2b7f92cb09a99f1832fe11141728595e",
    ("street", 13): "eb704b9b445102127ac922a1b8899c33cd06867a9d8858c3deb8024bc03a49b5",
    ("terrain", 4): "bfa92cbe981e6727e0df47b0886935cd63ec09037145419e995a63ad6a8facee",
    ("terrain", 14): "5489d608e9887a55dd51e31a143fb409ea4261ad63b4388ddbb61101ed7f5569",
}

# one digest over many seeds per family (and over the random choice of family and clip length), so that
# rarely taken branches (drone cameras, flying movers, parked cars, ...) are covered too
SWEEP_SEEDS = range(24)
SWEEP_GOLDEN = {
    "room": "098178b521fe4656dc35f48a9805c4a75fdc3a5f0b9d432b2cbbec7a6c6cee37",
    "corridor": "6f20a4d61588d5df2b4829207d42efadcd7ffba7e9c3b34e79e1ef22aba3fb2a",
    "street": "89d23c0c1944e1daa2d6dfe85ca4da2cd9e5f3ba889f41581fb0a63735d5e71d",
    "terrain": "d9a0a1736554fa8d2daf43c330443d88aaec79a08a610a8d4ebb94d45d56da25",
    None: "beb7a5126ab37d3d182de037ba4066fef6991866164944956301f63e3335c803",
}

# (scene type, seed) -> sha256 of the ray-cast clip render_clip(sample_clip(seed, 4, 32, 32, scene_type))
RENDER_GOLDEN = {
    ("room", 1): "262afe3f3e921e2f746abd6069bbd6f69a746e4bb66ddf9ba926597e94584ed5",
    ("corridor", 2): "b3024ecbd41164a2bb1f004dae24e2e87313b0d55ac5a6b487055dc77e16301d",
    ("street", 3): "2300ac4a8e821b282ae231c2cb6df9dfea3f851787e4ad59a1251c6e8b31ba68",
    ("terrain", 4): "5fd5348ef8bc47ac6a24563cd18fdf914e096a059c98fd1904185e14b7e70d37",
}


def _feed(h, x) -> None:
    """Deterministic, type-tagged serialisation of a scene description into the hash ``h``."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        h.update(f"<{type(x).__name__}>".encode())
        for f in dataclasses.fields(x):
            h.update(f.name.encode())
            _feed(h, getattr(x, f.name))
    elif isinstance(x, dict):
        h.update(f"<dict {len(x)}>".encode())
        for k in sorted(x, key=str):
            _feed(h, str(k))
            _feed(h, x[k])
    elif isinstance(x, (list, tuple)):
        h.update(f"<seq {len(x)}>".encode())
        for v in x:
            _feed(h, v)
    elif isinstance(x, np.ndarray):
        h.update(f"<array {x.dtype.kind} {x.shape}>".encode())
        if x.dtype.kind == "f":
            # + 0.0 turns -0.0 into 0.0
            h.update(np.ascontiguousarray(np.round(x.astype(np.float64), DECIMALS) + 0.0).tobytes())
        elif x.dtype.kind in "biu":
            h.update(np.ascontiguousarray(x.astype(np.int64)).tobytes())
        else:
            raise TypeError(f"cannot hash array of dtype {x.dtype}")
    elif x is None or isinstance(x, (bool, np.bool_)):
        h.update(f"<{x if x is None else bool(x)}>".encode())
    elif isinstance(x, (int, np.integer)):
        h.update(f"<int {int(x)}>".encode())
    elif isinstance(x, (float, np.floating)):
        h.update(f"<float {round(float(x), DECIMALS) + 0.0!r}>".encode())
    elif isinstance(x, str):
        h.update(f"<str {len(x)}>{x}".encode())
    else:
        raise TypeError(f"cannot hash {type(x).__name__}")


def spec_digest(spec) -> str:
    h = hashlib.sha256()
    _feed(h, spec)  # ClipSpec: seed, scene, track (K, c2w, times, size, near, far), fps, trajectory
    return h.hexdigest()


def clip_digest(clip) -> str:
    h = hashlib.sha256()
    h.update(f"{clip.rgb.dtype} {clip.rgb.shape}".encode())
    h.update(np.ascontiguousarray(clip.rgb).tobytes())
    h.update(np.ascontiguousarray(np.round(clip.depth.astype(np.float64), 4) + 0.0).tobytes())
    h.update(np.ascontiguousarray(clip.valid.astype(np.uint8)).tobytes())
    return h.hexdigest()


def sweep_digest(scene_type: str | None) -> str:
    h = hashlib.sha256()
    for seed in SWEEP_SEEDS:
        frames = (3, 9) if scene_type is None else 6
        h.update(spec_digest(sample_clip(seed, frames, 24, 32, scene_type=scene_type)).encode())
    return h.hexdigest()


def test_golden_pairs_cover_every_scene_family():
    assert {st for st, _ in SCENE_GOLDEN} == set(SCENE_TYPES)
    assert {st for st, _ in RENDER_GOLDEN} == set(SCENE_TYPES)
    assert set(SWEEP_GOLDEN) == {*SCENE_TYPES, None}


@pytest.mark.parametrize(("scene_type", "seed"), list(SCENE_GOLDEN))
def test_scene_description_golden(scene_type, seed):
    spec = sample_clip(seed, 8, 32, 32, scene_type=scene_type)
    assert spec.scene.scene_type == scene_type
    assert spec_digest(spec) == SCENE_GOLDEN[scene_type, seed]


@pytest.mark.parametrize("scene_type", list(SWEEP_GOLDEN), ids=str)
def test_scene_description_sweep_golden(scene_type):
    assert sweep_digest(scene_type) == SWEEP_GOLDEN[scene_type]


@pytest.fixture(scope="module")
def raycaster():
    return RaycastRenderer()


@pytest.mark.parametrize(("scene_type", "seed"), list(RENDER_GOLDEN))
def test_rendered_clip_golden(raycaster, scene_type, seed):
    pytest.importorskip("skimage", reason="without scikit-image the textures are procedural stand-ins")
    clip = render_clip(sample_clip(seed, 4, 32, 32, scene_type=scene_type), raycaster)
    assert clip_digest(clip) == RENDER_GOLDEN[scene_type, seed]
