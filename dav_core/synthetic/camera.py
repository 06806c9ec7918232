"""Pinhole cameras (OpenCV convention) and camera trajectories.

OpenCV camera: x right, y down, z forward; pixel (u, v) = (column, row) with the centre of the top-left
pixel at (0, 0), so ``u = fx * X / Z + cx``. Poses are camera-to-world 4x4 matrices in the y-up world frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .scene import axis_angle


def intrinsics_from_fov(width: int, height: int, fov_x_deg: float) -> np.ndarray:
    """3x3 K with square pixels and the principal point at the image centre."""
    fx = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2)
    return np.array([[fx, 0.0, (width - 1) / 2], [0.0, fx, (height - 1) / 2], [0.0, 0.0, 1.0]])


def intrinsics_off_centre(
    width: int, height: int, fov_x_deg: float, cx_offset: float = 0.0, cy_offset: float = 0.0
) -> np.ndarray:
    """Like :func:`intrinsics_from_fov` with the principal point moved by ``cx_offset * width`` and
    ``cy_offset * height`` pixels from the image centre (fractions of the image size, signed)."""
    K = intrinsics_from_fov(width, height, fov_x_deg)
    K[0, 2] += cx_offset * width
    K[1, 2] += cy_offset * height
    return K


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """Camera-to-world pose (OpenCV axes) at ``eye`` looking at ``target`` with world ``up`` above."""
    eye = np.asarray(eye, np.float64)
    f = np.asarray(target, np.float64) - eye
    f = f / np.linalg.norm(f)
    r = np.cross(f, np.asarray(up, np.float64))
    if np.linalg.norm(r) < 1e-8:  # looking straight up/down
        r = np.cross(f, np.array([0.0, 0.0, 1.0]))
    r = r / np.linalg.norm(r)
    d = np.cross(f, r)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = r, d, f, eye
    return pose


def pixel_rays(K: np.ndarray, height: int, width: int) -> np.ndarray:
    """Camera-frame ray directions with z = 1 for every pixel centre, [H, W, 3] float64."""
    v, u = np.meshgrid(np.arange(height, dtype=np.float64), np.arange(width, dtype=np.float64), indexing="ij")
    x = (u - K[0, 2] - K[0, 1] * (v - K[1, 2]) / K[1, 1]) / K[0, 0]
    y = (v - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


@dataclass
class CameraTrack:
    """Everything a renderer needs about the camera of one clip."""

    K: np.ndarray  # [3,3]
    c2w: np.ndarray  # [T,4,4]
    times: np.ndarray  # [T] seconds
    height: int
    width: int
    near: float = 0.05
    far: float = 400.0

    @property
    def frames(self) -> int:
        return len(self.times)


# ------------------------------------------------------------------------------------------ trajectories

TRAJECTORIES = ("orbit", "dolly", "pan", "tracking", "static")


def _smooth_noise(
    rng: np.random.Generator, times: np.ndarray, dims: int, freqs=(0.7, 1.9, 4.3, 7.1)
) -> np.ndarray:
    """Sum of random-phase sinusoids, [T, dims], roughly unit amplitude: hand-held camera shake."""
    out = np.zeros((len(times), dims))
    for f in freqs:
        ff = f * rng.uniform(0.8, 1.25, dims)
        phase = rng.uniform(0, 2 * np.pi, dims)
        out += np.sin(2 * np.pi * ff[None] * times[:, None] + phase[None]) / math.sqrt(f)
    return out / 1.5


def apply_shake(
    rng: np.random.Generator, c2w: np.ndarray, times: np.ndarray, trans_m: float, rot_deg: float
) -> np.ndarray:
    """Hand-held shake: small smooth translation and rotation jitter in the camera frame."""
    tn = _smooth_noise(rng, times, 3) * trans_m
    rn = np.radians(_smooth_noise(rng, times, 3) * rot_deg)
    out = c2w.copy()
    for i in range(len(times)):
        r = c2w[i, :3, :3]
        dr = np.eye(3)
        for ax in range(3):
            e = np.zeros(3)
            e[ax] = 1
            dr = dr @ axis_angle(e, rn[i, ax])
        out[i, :3, :3] = r @ dr
        out[i, :3, 3] = c2w[i, :3, 3] + r @ tn[i]
    return out


def _sane_targets(eyes: np.ndarray, targets: np.ndarray, min_dist: float, pitch_range) -> np.ndarray:
    fwd = targets - eyes
    horiz = np.linalg.norm(fwd[:, [0, 2]], axis=1)
    out = targets.copy()
    # where the target is (almost) straight below/above, keep the previous heading
    for i in range(len(eyes)):
        h = horiz[i]
        if h < 1e-6:
            d = fwd[i - 1, [0, 2]] if i else np.array([0.0, 1.0])
            d = d / max(np.linalg.norm(d), 1e-9)
        else:
            d = fwd[i, [0, 2]] / h
        dist = max(h, min_dist)
        pitch = math.degrees(math.atan2(fwd[i, 1], max(h, 1e-9)))
        pitch = min(max(pitch, pitch_range[0]), pitch_range[1])
        out[i, [0, 2]] = eyes[i, [0, 2]] + d * dist
        out[i, 1] = eyes[i, 1] + dist * math.tan(math.radians(pitch))
    return out


@dataclass(frozen=True)
class _Stage:
    """Where a camera path may go: the point of interest, the room around it and the eye height."""

    center: np.ndarray  # [3] world xyz of the point of interest
    radius: float  # horizontal distance the path may use around ``center``
    look_h: float  # height of the look-at point
    height: Callable[[np.ndarray], np.ndarray] | float  # eye height: constant or xz [N,2] -> [N]
    clamp: Callable[[np.ndarray], np.ndarray] | None  # eyes [N,3] -> eyes inside the free space

    @property
    def subject(self) -> np.ndarray:
        """The point of interest at look-at height, [3]."""
        return np.array([self.center[0], self.look_h, self.center[2]])

    def eyes(self, xz: np.ndarray) -> np.ndarray:
        """Eye positions [N,3] above ground positions ``xz`` [N,2], clamped into the free space."""
        h = self.height(xz) if callable(self.height) else np.full(len(xz), float(self.height))
        eyes = np.stack([xz[:, 0], h, xz[:, 1]], -1)
        return eyes if self.clamp is None else self.clamp(eyes)

    def eyes_still(self, eye: np.ndarray, frames: int) -> np.ndarray:
        """A standing eye at the xz of ``eye`` [3] for ``frames`` frames, [T,3]."""
        return self.eyes(np.tile(eye[[0, 2]], (frames, 1)))


def _duration(times: np.ndarray) -> float:
    return float(times[-1] - times[0]) if len(times) > 1 else 0.0


def _orbit_path(rng, times, stage: _Stage, speed: float):
    """Circle about the centre at 45-95 % of the radius, looking at (a jittered) centre."""
    r = stage.radius * rng.uniform(0.45, 0.95)
    omega = speed / max(r, 1e-3) * rng.choice([-1, 1])
    a0 = rng.uniform(0, 2 * np.pi)
    ang = a0 + omega * (times - times[0])  # [T]
    xz = np.stack([stage.center[0] + r * np.sin(ang), stage.center[2] + r * np.cos(ang)], -1)
    eyes = stage.eyes(xz)
    tgt_off = rng.normal(0, 0.3, 3) * np.array([1, 0.3, 1])
    targets = np.tile(stage.subject + tgt_off, (len(times), 1))
    return eyes, targets, {"radius": float(r), "angular_speed": float(omega)}


def _straight_path(kind, rng, times, stage: _Stage, speed, heading, max_length, look_ahead):
    """Straight move through the centre; a dolly looks roughly along the motion, a tracking shot looks
    sideways at the centre moved ``look_ahead`` m along the motion."""
    heading = rng.uniform(0, 2 * np.pi) if heading is None else heading
    direction = np.array([math.sin(heading), 0.0, math.cos(heading)])
    dur = _duration(times)
    length = min(speed * dur, 1.8 * stage.radius if max_length is None else max_length)
    start = stage.center - direction * length / 2 + rng.normal(0, 0.2 * stage.radius, 3) * np.array([1, 0, 1])
    s = (times - times[0]) / max(dur, 1e-6) * length  # [T] distance travelled
    eyes = stage.eyes(start[[0, 2]][None] + s[:, None] * direction[[0, 2]][None])
    if kind == "dolly":
        yaw_off = rng.normal(0, 0.25)
        fwd = axis_angle(np.array([0.0, 1.0, 0.0]), yaw_off) @ direction
        pitch = rng.uniform(-0.25, 0.05)
        targets = eyes + fwd[None] * 5.0 + np.array([0, 5.0 * math.tan(pitch), 0])[None]
    else:
        targets = np.tile(stage.subject + direction * look_ahead, (len(times), 1))
    return eyes, targets, {"heading": float(heading), "length": float(length)}


def _pan_path(rng, times, stage: _Stage, speed, pan_heading):
    """Fixed eye near the centre sweeping its heading at ``speed`` rad/s, with a slowly wavering pitch."""
    eye = stage.center + rng.normal(0, 0.3 * stage.radius, 3) * np.array([1, 0, 1])
    eyes = stage.eyes_still(eye, len(times))
    omega = speed * rng.choice([-1, 1])
    a0 = rng.uniform(0, 2 * np.pi) if pan_heading is None else pan_heading - omega * _duration(times) / 2
    ang = a0 + omega * (times - times[0])  # [T]
    pitch = rng.uniform(-0.3, 0.05) + 0.1 * np.sin(times * rng.uniform(0.3, 1.0))  # [T]
    fwd = np.stack([np.sin(ang), np.tan(pitch), np.cos(ang)], -1)
    return eyes, eyes + fwd * 3.0, {"angular_speed": float(omega)}


def _static_path(rng, times, stage: _Stage, heading):
    """Tripod: fixed eye, fixed view or (40 %) a very slow pan of 0.01-0.05 rad/s."""
    if heading is None:
        r = stage.radius * rng.uniform(0.45, 0.95)
        a0 = rng.uniform(0, 2 * np.pi)
        eye = stage.center + r * np.array([math.sin(a0), 0.0, math.cos(a0)])
    else:
        eye = stage.center + rng.normal(0, 0.2 * stage.radius, 3) * np.array([1, 0, 1])
    eyes = stage.eyes_still(eye, len(times))
    if heading is None:
        target = stage.subject + rng.normal(0, 0.3, 3) * np.array([1, 0.3, 1])
        fwd = target - eyes[0]
    else:
        h = heading + rng.normal(0, 0.25)
        fwd = np.array([math.sin(h), math.tan(rng.uniform(-0.25, 0.05)), math.cos(h)]) * 5.0
    omega = rng.uniform(0.01, 0.05) * rng.choice([-1, 1]) if rng.random() < 0.4 else 0.0
    rot = [axis_angle(np.array([0.0, 1.0, 0.0]), omega * (t - times[0])) for t in times]
    targets = eyes + np.stack([r @ fwd for r in rot])
    return eyes, targets, {"angular_speed": float(omega)}


def make_trajectory(
    kind: str,
    rng: np.random.Generator,
    times: np.ndarray,
    *,
    center: np.ndarray,
    radius: float,
    height: Callable[[np.ndarray], np.ndarray] | float,
    speed: float,
    clamp: Callable[[np.ndarray], np.ndarray] | None = None,
    look_height: float | None = None,
    max_length: float | None = None,
    heading: float | None = None,
    min_dist: float = 1.5,
    pitch_range: tuple[float, float] = (-35.0, 20.0),
    look_ahead: float = 0.0,
    pan_heading: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Camera-to-world poses [T,4,4] and a description of the path.

    ``center`` (world xyz) is the point of interest, ``radius`` the horizontal distance the path may use
    around it, ``height`` the eye height (a constant or a function of xz positions [N,2] -> [N] giving the
    height above ground), ``speed`` m/s (rad/s for pans), ``clamp`` projects eye positions [N,3] into the
    free space of the scene, ``max_length`` bounds the length of straight moves (default 1.8 * radius) and
    ``heading`` fixes their direction (radians about y; default random). Look-at targets are pushed to at
    least ``min_dist`` m horizontally and the pitch is limited to ``pitch_range`` degrees. A tracking shot
    looks at ``center`` moved ``look_ahead`` m along the direction of travel. A pan sweeps about
    ``pan_heading`` (radians about y; default: starts at a random heading). A static (tripod) camera stands
    still, looking along ``heading`` when given, else at ``center`` from up to ``radius`` away; sometimes
    it pans very slowly.
    """
    center = np.asarray(center, np.float64)
    look_h = center[1] if look_height is None else look_height
    stage = _Stage(center, radius, look_h, height, clamp)
    if kind == "orbit":
        eyes, targets, path_info = _orbit_path(rng, times, stage, speed)
    elif kind in ("dolly", "tracking"):
        eyes, targets, path_info = _straight_path(
            kind, rng, times, stage, speed, heading, max_length, look_ahead
        )
    elif kind == "pan":
        eyes, targets, path_info = _pan_path(rng, times, stage, speed, pan_heading)
    elif kind == "static":
        eyes, targets, path_info = _static_path(rng, times, stage, heading)
    else:
        raise ValueError(f"unknown trajectory {kind!r}")
    targets = _sane_targets(eyes, targets, min_dist, pitch_range)
    c2w = np.stack([look_at(e, t) for e, t in zip(eyes, targets, strict=True)])
    return c2w, {"kind": kind, "speed": float(speed), **path_info}
