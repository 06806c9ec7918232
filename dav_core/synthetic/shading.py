"""Shading model shared by both renderers (the GLSL in ``render_gl`` mirrors these torch functions).

Linear-light Lambert + Blinn-Phong with hemisphere ambient, one optional shadow-casting light, distance fog
towards the horizon colour, exponential tone mapping and a 2.2 display gamma.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .scene import Environment, Scene

MAX_LIGHTS = 4


@dataclass
class RenderResult:
    rgb: np.ndarray  # [T,H,W,3] uint8
    depth: np.ndarray  # [T,H,W] float32 metres (z along the optical axis), 0 where invalid
    valid: np.ndarray  # [T,H,W] bool


def sky_color(env: Environment, dirs: torch.Tensor) -> torch.Tensor:
    """Linear sky radiance for unit world directions [N,3]."""
    dt = dirs.dtype
    zen = torch.tensor(env.sky_zenith, dtype=dt)
    hor = torch.tensor(env.sky_horizon, dtype=dt)
    gnd = torch.tensor(env.ground, dtype=dt)
    y = dirs[:, 1:2]
    up = torch.clamp(y, 0, 1) ** 0.6
    col = hor * (1 - up) + zen * up
    down = torch.clamp(-y * 4, 0, 1)
    col = col * (1 - down) + (hor * 0.5 + gnd * 0.5) * down
    if env.sun_dir is not None:
        s = -torch.tensor(env.sun_dir, dtype=dt)
        s = s / torch.linalg.norm(s)
        c = torch.clamp(dirs @ s, 0, 1)[:, None]
        col = col + torch.tensor(env.sun_color, dtype=dt) * (c**600 * 8.0 + c**12 * 0.25)
    return col


def tonemap(col: torch.Tensor, exposure: float) -> torch.Tensor:
    """Linear radiance -> display [0,1]."""
    return (1 - torch.exp(-torch.clamp(col, min=0) * exposure)) ** (1 / 2.2)


def to_uint8(col01: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.floor(col01 * 255 + 0.5), 0, 255).to(torch.uint8)


def shade(
    scene: Scene,
    albedo: torch.Tensor,  # [N,3] linear
    normal: torch.Tensor,  # [N,3] unit world, already facing the viewer
    pos: torch.Tensor,  # [N,3] world
    view: torch.Tensor,  # [N,3] unit, from the point towards the camera
    dist: torch.Tensor,  # [N] distance to the camera
    specular: torch.Tensor,  # [N]
    shininess: torch.Tensor,  # [N]
    shadow: torch.Tensor | None,  # [N] visibility of the shadow-casting light (1 = lit)
) -> torch.Tensor:
    env = scene.env
    dt = albedo.dtype
    zen = torch.tensor(env.sky_zenith, dtype=dt)
    gnd = torch.tensor(env.ground, dtype=dt)
    hor = torch.tensor(env.sky_horizon, dtype=dt)
    ny = normal[:, 1:2]
    amb = (zen * 0.4 + hor * 0.6) * (0.5 + 0.5 * ny) + gnd * (0.5 - 0.5 * ny)
    col = albedo * amb * env.ambient
    for light in scene.lights[:MAX_LIGHTS]:
        lc = torch.tensor(light.color, dtype=dt)
        if light.kind == "directional":
            L = -torch.tensor(light.vector, dtype=dt)
            L = (L / torch.linalg.norm(L)).expand_as(pos)
            att = torch.ones_like(dist)
        else:
            dvec = torch.tensor(light.vector, dtype=dt) - pos
            d = torch.linalg.norm(dvec, dim=1)
            L = dvec / d[:, None].clamp(min=1e-6)
            att = 1.0 / (1.0 + (d / light.range) ** 2)
        ndl = torch.clamp((normal * L).sum(1), min=0)
        h = L + view
        h = h / torch.linalg.norm(h, dim=1, keepdim=True).clamp(min=1e-6)
        spec = specular * torch.clamp((normal * h).sum(1), min=0) ** shininess * (ndl > 0)
        vis = shadow if (light.cast_shadow and shadow is not None) else torch.ones_like(dist)
        col = col + (albedo * ndl[:, None] + spec[:, None]) * lc * (att * vis)[:, None]
    if env.fog_density > 0:
        f = torch.exp(-env.fog_density * dist)[:, None]
        col = col * f + hor * (1 - f)
    return col


def env_uniforms(env: Environment) -> dict:
    sun = env.sun_dir if env.sun_dir is not None else (0.0, -1.0, 0.0)
    return {
        "u_sky_zenith": tuple(map(float, env.sky_zenith)),
        "u_sky_horizon": tuple(map(float, env.sky_horizon)),
        "u_ground": tuple(map(float, env.ground)),
        "u_ambient": float(env.ambient),
        "u_fog": float(env.fog_density),
        "u_exposure": float(env.exposure),
        "u_sun_dir": tuple(float(x) for x in (np.asarray(sun) / np.linalg.norm(sun))),
        "u_sun_on": 1 if env.sun_dir is not None else 0,
        "u_sun_color": tuple(map(float, env.sun_color)),
    }
