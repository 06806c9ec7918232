"""Golden hashes of generated synthetic clips: any change to the random draws or to the scene construction
of a scene family (room, corridor, street, terrain, tabletop, outdoor, showroom) changes a hash here.

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

pytestmark = pytest.mark.usefixtures("single_thread")

DECIMALS = 6

# (scene type, seed) -> sha256 of the scene description of sample_clip(seed, 8, 32, 32, scene_type)
SCENE_GOLDEN = {
    ("room", 1): "9616fe4e60418512bf82149f487e73ee6bc1627307d97961d19a2d34becfaf22",
    ("room", 11): "1398585c267e8db72deb20bbcc5fa7a25ad7013f8ac7cce78a2db2fdf7fae0cd",
    ("corridor", 2): "c35fa5a303873a0709460c631783e7701062a0e66eab4ef69bfd7a9cb93f6414",
    ("corridor", 12): "b8c9f8e4d53c04c71adaf1d06dde89e20a7dda3bc5644e70d459d76739d8c439",
    ("street", 3): "1cc532b338020971f1b42adbc717409ff6755d9245b50a87d94b8b4f42a13fb6",
    ("street", 13): "18361dc962c11669adb96e6b695bc156467d574ded2642a8097d74290d093bf3",
    ("terrain", 4): "1eebf82146986f9497151fd9e7c9dbc16153c44f89386c2230ac1a0dbf7f1958",
    ("terrain", 14): "0bf2aa0112cb605909c518f9f69d48076d915ab82fa5b1621e87878a62f67781",
    ("tabletop", 5): "c29c5925f3462e51233eeaee7babd2d378bd2d6587d8dd0199453f2184eb7f37",
    ("tabletop", 15): "572cebebba7624426611f3711fafd1bcba44bd2cf1d670dff1f68c6f6391b5e6",
    ("outdoor", 6): "3d57a5298bbd2f66479ddf5e4fba34127fa67031bb54f96cac20b39cca570144",
    ("outdoor", 16): "d262c34941629e72085582f6734189f1a8f3cf140ac8eec4df85351966cae84c",
    ("showroom", 7): "13e96100914ead269f11864999d733aabe6fd0cedd70ca31ca3b8c7738840b76",
    ("showroom", 17): "5f39e85330c6ce3f43729e1b7763070270be9af4d7dad6a0feafb775feeb790d",
}

# one digest over many seeds per family (and over the random choice of family and clip length), so that
# rarely taken branches (drone and static cameras, flying movers, parked cars, ...) are covered too
SWEEP_SEEDS = range(24)
SWEEP_GOLDEN = {
    "room": "21e253be2afb5abab856770739cae24a701b97aa2ccdafafb10ec8733cfa22df",
    "corridor": "c2f2e12785e2b45b4e132dacf42eb42202fb1318f87361282c842ff6beb3fba5",
    "street": "db391b663f518205c4447bfbdac11cd1bb3311213b785f9c7ad1bd470e31b1f1",
    "terrain": "bfd6570a5217c00bcd05d64a79aa8c3f4a86dbc710d1ffaab034a9252164e3b4",
    "tabletop": "4c65938783ab7f8af48ce873069d439141e59e255ff54472ff185f8decd4cb3d",
    "outdoor": "ef1535138d7966fd8a40bdf280b6df29a24f41f6cb79f082e654bc579e9d49fc",
    "showroom": "c0508804e3df7e8282b136f0d67bccc9614eaabf04651f53927fdbf2add4b338",
    # moved when showroom joined SCENE_PROBS (the random family choice changed; each family's draws did not)
    None: "a965797017b1cef1383ffcb6123d4215fbfff0988bc07c3c9d98811be7f7ad73",
}

# (scene type, seed) -> sha256 of the ray-cast clip render_clip(sample_clip(seed, 4, 32, 32, scene_type))
RENDER_GOLDEN = {
    ("room", 1): "246371b4fd3b596e3b57c414ea37ebf8d824b873abdd43d3800ac9d9d387d80f",
    ("corridor", 2): "725d2003cdf59bdcd95c3964faee91cfc47060a744d9393141258f6ea3ea93aa",
    ("street", 3): "caaeac37fae73706954f9ac821e30e25e7b07719b39f1fff5e1cdebf415ac6ec",
    ("terrain", 4): "3334ad8ec44ea7872b60cdfd882504118f29bebb9918c6a293f52f62382476c7",
    ("tabletop", 5): "d67affe2af106021e8bb6d4ce8d847ed915f4d056af32bd829233e92df047f65",
    ("outdoor", 6): "3d1cd50b13021348ec25329b692373f0480d338695e11d93a587816d8e856e1c",
    ("showroom", 7): "5f51044f223609a86e85b7beb6a1f1b1e073cabac8c9d30b4bcc22f1f7e5ea8c",
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


@pytest.mark.parametrize(("scene_type", "seed"), list(RENDER_GOLDEN))
def test_rendered_clip_golden(raycaster, scene_type, seed):
    pytest.importorskip("skimage", reason="without scikit-image the textures are procedural stand-ins")
    clip = render_clip(sample_clip(seed, 4, 32, 32, scene_type=scene_type), raycaster)
    assert clip_digest(clip) == RENDER_GOLDEN[scene_type, seed]
