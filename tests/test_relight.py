"""Depth -> normals and Lambert relighting."""

from __future__ import annotations

import pytest
import torch

from dav_core.relight import (
    depth_to_normals,
    disparity_to_depth,
    lambert_relight,
    light_direction,
    parse_hex_colour,
    pinhole_intrinsics,
)


def test_fronto_parallel_plane_faces_the_camera():
    normals = depth_to_normals(torch.full((2, 16, 20), 3.0), fov_degrees=60)
    interior = normals[:, :, 2:-2, 2:-2]
    torch.testing.assert_close(interior, torch.tensor([0.0, 0.0, -1.0])[None, :, None, None].expand_as(interior))


def test_receding_plane_turns_its_normal_towards_the_near_side():
    # depth grows to the right, like a corridor's left wall: its normal points right (+x), into the room
    depth = 2.0 + torch.linspace(0, 1, 32)[None, None, :].expand(1, 24, 32)
    normals = depth_to_normals(depth, fov_degrees=60)[0, :, 12, 16]
    assert normals[0] > 0.1 and normals[2] < 0


def test_disparity_maps_to_near_and_far():
    depth = disparity_to_depth(torch.tensor([1.0, 0.0, 0.5]), near=1.0, far=4.0)
    torch.testing.assert_close(depth, torch.tensor([1.0, 4.0, 1.0 / (0.5 * 0.75 + 0.25)]))
    with pytest.raises(ValueError, match="far"):
        disparity_to_depth(torch.zeros(1), near=2.0, far=1.0)


def test_light_from_the_camera_lights_a_facing_surface_fully():
    plate = torch.full((4, 4, 3), 0.4)
    normals = torch.tensor([0.0, 0.0, -1.0]).expand(4, 4, 3)
    light = light_direction(0.0, 0.0)
    torch.testing.assert_close(light, torch.tensor([0.0, 0.0, -1.0]))
    out = lambert_relight(plate, normals, light, torch.ones(3), intensity=0.5, ambient=1.0)
    torch.testing.assert_close(out, torch.full((4, 4, 3), 0.6))
    back = lambert_relight(plate, normals, light_direction(180.0, 0.0), torch.ones(3), 0.5, 1.0)
    torch.testing.assert_close(back, plate)  # lit from behind: only the ambient term
    half = lambert_relight(plate, normals, light, torch.ones(3), 0.5, 1.0, amount=0.5)
    torch.testing.assert_close(half, torch.full((4, 4, 3), 0.5))


def test_colour_and_camera_validation():
    torch.testing.assert_close(parse_hex_colour("#ff8000"), torch.tensor([1.0, 128 / 255, 0.0]))
    with pytest.raises(ValueError, match="hex colour"):
        parse_hex_colour("orange")
    assert pinhole_intrinsics(10, 20, 90.0)[0, 0].item() == pytest.approx(10.0)
    with pytest.raises(ValueError, match="fov_degrees"):
        pinhole_intrinsics(10, 20, 180.0)
