"""Synthetic engine renderers: analytic depth, GL vs ray caster agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dav_core.synthetic import (
    CameraTrack,
    Environment,
    Light,
    Material,
    Primitive,
    Scene,
    create_renderer,
    gl_unavailable_reason,
    intrinsics_from_fov,
    look_at,
    sample_clip,
)
from dav_core.synthetic.camera import intrinsics_off_centre, pixel_rays
from dav_core.synthetic.scene import make_pose, quad_pose, yaw


@pytest.fixture(scope="module")
def gl():
    reason = gl_unavailable_reason()
    if reason is not None:
        pytest.skip(
            f"no headless OpenGL context via EGL: {reason} (install moderngl and the Mesa EGL packages, see dav_core/synthetic/README.md)"
        )
    from dav_core.synthetic.render_gl import GLRenderer

    r = GLRenderer(shadow_size=512)
    yield r
    r.close()


@pytest.fixture(params=["gl", "raycast"])
def renderer(request, raycaster):
    return request.getfixturevalue("gl") if request.param == "gl" else raycaster


def _scene(prims, shadows=False):
    return Scene(
        "test",
        prims,
        [
            Light("directional", (-0.3, -1.0, 0.4), (2.0, 2.0, 2.0), cast_shadow=shadows),
            Light("point", (0.5, 2.0, 1.0), (1.5, 1.4, 1.2)),
        ],
        Environment(sun_dir=(-0.3, -1.0, 0.4)),
        ((-8, -3, -2), (8, 5, 12)),
        max_depth=100.0,
    )


def _track(H=48, W=64, fov=60.0, eye=(0.0, 0.0, 0.0), target=(0.0, 0.0, 1.0), n=1):
    K = intrinsics_from_fov(W, H, fov)
    c2w = np.stack([look_at(eye, target)] * n)
    return CameraTrack(K, c2w, np.arange(n) / 10.0, H, W)


def test_intrinsics_and_pose_conventions():
    K = intrinsics_from_fov(64, 48, 90.0)
    assert (
        K[0, 0] == pytest.approx(32.0) and K[0, 2] == pytest.approx(31.5) and K[1, 2] == pytest.approx(23.5)
    )
    c2w = look_at((1.0, 2.0, 3.0), (1.0, 2.0, 10.0))
    # OpenCV camera: z forward, y down (world y up), x = z cross... right-handed
    np.testing.assert_allclose(c2w[:3, 2], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(c2w[:3, 1], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(np.cross(c2w[:3, 0], c2w[:3, 1]), c2w[:3, 2], atol=1e-12)
    np.testing.assert_allclose(c2w[:3, 3], [1, 2, 3])


def test_fronto_parallel_plane_depth(renderer):
    z0 = 3.7
    quad = Primitive(
        "quad",
        (20.0, 20.0),
        quad_pose((0.3, -0.2, z0), (-1, 0, 0), (0, -1, 0)),
        Material("brick", uv_tile=1.0),
    )
    res = renderer.render(_scene([quad]), _track())
    assert res.valid.all()
    np.testing.assert_allclose(res.depth[0], z0, atol=1e-4)


def test_tilted_plane_depth_matches_analytic(renderer):
    # plane through p0 with normal n (tilted 35 degrees about x, 20 about y)
    H, W = 48, 64
    track = _track(H, W)
    p0 = np.array([0.2, -0.1, 4.0])
    rot = yaw(math.radians(20)) @ np.array(
        [[1, 0, 0], [0, math.cos(0.61), -math.sin(0.61)], [0, math.sin(0.61), math.cos(0.61)]]
    )
    quad = Primitive("quad", (30.0, 30.0), make_pose(rot, p0), Material("gravel", uv_tile=0.7))
    res = renderer.render(_scene([quad]), track)
    n = rot[:, 2]
    d_cam = pixel_rays(track.K, H, W)
    d_world = d_cam @ track.c2w[0, :3, :3].T
    o = track.c2w[0, :3, 3]
    expected = ((p0 - o) @ n) / (d_world @ n)  # ray parameter == z-depth because d_cam.z == 1
    assert res.valid.all()
    np.testing.assert_allclose(res.depth[0], expected, atol=1e-4)


def test_box_facing_camera_depth(renderer):
    H, W = 48, 64
    track = _track(H, W)
    hx, hy, hz, zc = 0.8, 0.6, 0.5, 3.0
    back = Primitive(
        "quad", (40.0, 40.0), quad_pose((0, 0, 9.0), (-1, 0, 0), (0, -1, 0)), Material("plaster")
    )
    cube = Primitive("box", (hx, hy, hz), make_pose(None, (0.1, 0.05, zc)), Material("coffee"))
    res = renderer.render(_scene([back, cube]), track)
    d_cam = pixel_rays(track.K, H, W)
    z_front = zc - hz
    # camera looks along world +z with world y up, so world x = -camera x and world y = -camera y
    x = -d_cam[..., 0] * z_front
    y = -d_cam[..., 1] * z_front
    # pixels whose ray hits the front face comfortably inside its edges (one pixel ~ 0.045 m here)
    on_face = (np.abs(x - 0.1) < hx - 0.06) & (np.abs(y - 0.05) < hy - 0.06)
    off_box = (np.abs(x - 0.1) > hx + 0.2) | (np.abs(y - 0.05) > hy + 0.2)
    assert on_face.sum() > 200
    np.testing.assert_allclose(res.depth[0][on_face], z_front, atol=1e-4)
    np.testing.assert_allclose(res.depth[0][off_box], 9.0, atol=1e-4)


def test_sphere_depth_matches_analytic(renderer):
    H, W = 48, 64
    track = _track(H, W)
    c, r = np.array([-0.2, 0.1, 3.0]), 0.9
    ball = Primitive("sphere", (r,), make_pose(None, c), Material("chelsea"))
    res = renderer.render(_scene([ball]), track)
    d = pixel_rays(track.K, H, W) @ track.c2w[0, :3, :3].T
    a = (d * d).sum(-1)
    b = -(d @ c)
    disc = b * b - a * (c @ c - r * r)
    inside = disc > 0.05 * a  # away from the silhouette
    expected = (-b - np.sqrt(np.maximum(disc, 0))) / a
    assert inside.sum() > 100
    np.testing.assert_allclose(res.depth[0][inside], expected[inside], atol=1e-4)
    assert not res.valid[0][disc < -0.05 * a].any()  # sky around the ball is invalid


def _off_centre_track(H=48, W=64):
    K = intrinsics_off_centre(W, H, 60.0, 0.07, -0.06)
    assert K[0, 2] == pytest.approx(31.5 + 0.07 * W) and K[1, 2] == pytest.approx(23.5 - 0.06 * H)
    return CameraTrack(K, look_at((0, 0, 0), (0, 0, 1))[None], np.zeros(1), H, W)


def test_off_centre_principal_point_depth(renderer):
    # tilted plane: its depth per pixel depends on where K puts each pixel's ray
    track = _off_centre_track()
    p0, rot = np.array([0.3, -0.2, 3.0]), yaw(math.radians(25))
    quad = Primitive("quad", (30.0, 30.0), make_pose(rot, p0), Material("gravel", uv_tile=0.7))
    res = renderer.render(_scene([quad]), track)
    d_world = pixel_rays(track.K, 48, 64) @ track.c2w[0, :3, :3].T
    expected = (p0 @ rot[:, 2]) / (d_world @ rot[:, 2])
    assert res.valid.all()
    np.testing.assert_allclose(res.depth[0], expected, atol=1e-4)


def test_off_centre_principal_point_projection(renderer):
    # a quad whose corner projects to (u, v) = (20.3, 30.6): it covers exactly the pixel centres beyond it
    track = _off_centre_track()
    K, z = track.K, 2.0
    xc, yc = (20.3 - K[0, 2]) * z / K[0, 0], (30.6 - K[1, 2]) * z / K[1, 1]  # camera frame
    # camera looks along world +z with y up: world x = -camera x, world y = -camera y
    near = Primitive("quad", (5.0, 5.0), quad_pose((-(xc + 5), -(yc + 5), z), (-1, 0, 0), (0, -1, 0)))
    back = Primitive("quad", (40.0, 40.0), quad_pose((0, 0, 9.0), (-1, 0, 0), (0, -1, 0)), Material("brick"))
    res = renderer.render(_scene([near, back]), track)
    v, u = np.mgrid[0:48, 0:64]
    expected = (u > 20.3) & (v > 30.6)
    np.testing.assert_array_equal(res.depth[0] < 5.0, expected)
    np.testing.assert_allclose(res.depth[0][expected], z, atol=1e-4)


def _edge_mask(depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Pixels next to a depth discontinuity or a validity change (3x3 neighbourhood)."""
    H, W = depth.shape
    pad_d = np.pad(depth, 1, mode="edge")
    pad_v = np.pad(valid, 1, mode="edge")
    edge = np.zeros((H, W), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            nd = pad_d[1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W]
            nv = pad_v[1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W]
            edge |= (nv != valid) | (np.abs(nd - depth) > 0.05 * np.maximum(depth, 1e-3) + 0.05)
    return edge


def _compare(a, b):
    for i in range(a.depth.shape[0]):
        interior = ~(_edge_mask(a.depth[i], a.valid[i]) | _edge_mask(b.depth[i], b.valid[i]))
        assert interior.mean() > 0.3
        assert (a.valid[i] == b.valid[i])[interior].all()
        both = interior & a.valid[i] & b.valid[i]
        err = np.abs(a.depth[i] - b.depth[i])[both]
        assert (err < 1e-3).mean() >= 0.99, f"frame {i}: only {(err < 1e-3).mean():.4f} within 1e-3 m"


def test_gl_and_raycast_agree_on_shared_scene(gl, raycaster):
    prims = [
        Primitive(
            "quad", (6.0, 6.0), quad_pose((0, -1.2, 4), (1, 0, 0), (0, 0, 1)), Material("wood", uv_tile=1.5)
        ),
        Primitive(
            "quad",
            (6.0, 3.0),
            quad_pose((0, 1.0, 9.5), (-1, 0, 0), (0, -1, 0)),
            Material("brick", (0.9, 0.5, 0.4), 1.0),
        ),
        Primitive("box", (0.5, 0.5, 0.5), make_pose(yaw(0.6), (-1.0, -0.7, 4.5)), Material("coffee")),
        Primitive("sphere", (0.6,), make_pose(None, (1.2, -0.6, 5.0)), Material("astronaut")),
    ]
    track = _track(48, 64, eye=(0.3, 0.4, 0.0), target=(0.0, -0.5, 5.0), n=2)
    track.c2w[1] = look_at((0.6, 0.5, 0.3), (0.0, -0.6, 5.0))
    scene = _scene(prims, shadows=True)
    a, b = gl.render(scene, track), raycaster.render(scene, track)
    _compare(a, b)
    # same shading model: colours agree closely too (shadow-map vs shadow-ray edges, texture filtering)
    assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() < 4.0


@pytest.mark.parametrize("scene_type", ["room", "street", "terrain", "tabletop", "outdoor"])
def test_gl_and_raycast_agree_on_generated_scenes(gl, raycaster, scene_type):
    spec = sample_clip(11, 2, 48, 64, scene_type=scene_type)
    a, b = gl.render(spec.scene, spec.track), raycaster.render(spec.scene, spec.track)
    _compare(a, b)


def test_gl_renderer_still_renders_after_another_was_made_and_closed(gl):
    """Each render makes its own context current (another renderer in the same process once left the
    first one drawing garbage)."""
    spec = sample_clip(5, 3, 32, 32)
    before = gl.render(spec.scene, spec.track)
    other = create_renderer("gl")
    other.render(spec.scene, spec.track)
    other.close()
    after = gl.render(spec.scene, spec.track)
    assert np.array_equal(before.rgb, after.rgb) and np.array_equal(before.depth, after.depth)
