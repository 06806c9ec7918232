"""Camera and sensor imperfections for rendered clips: motion blur, atmospheric haze, defocus, vignetting,
exposure, white balance, Poisson-Gaussian noise and a global tone curve (gamma, contrast, saturation).
Depth, validity, poses and intrinsics are never touched.

The renderers return display RGB, ``uint8(round(255 * (1 - exp(-x)) ** (1/2.2)))`` of the exposed linear
radiance ``x`` (see ``shading.tonemap``). That display transform is known and invertible, so every effect
works in linear light: ``x = -log(1 - y ** 2.2)`` (a saturated 255 maps to ``X_MAX``, so clipped highlights
stay clipped), then the effects in camera order, then the same display transform and rounding:

    motion blur (S sub-frame renders averaged) -> haze -> defocus -> vignetting -> exposure / white
    balance -> shot + read noise -> display transform -> tone curve -> uint8

Per-clip parameters (:class:`SensorEffects`) come from :func:`sample_sensor`, which draws from its own
stream ``default_rng([seed, SENSOR_STREAM])`` (haze and tone curve from ``[seed, SENSOR_STREAM,
GRADING_STREAM]``, so adding them left the older draws unchanged), so the scene draws of the same seed are
unaffected. Haze is drawn only for open-air clips (:func:`haze_allowed`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

SENSOR_STREAM = 0x5E2503  # second word of the sensor's seed sequence
NOISE_STREAM = 1  # third word: the per-pixel noise draws
GRADING_STREAM = 2  # third word: haze and tone-curve parameters
EFFECTS_MODES = ("auto", "none")
EFFECT_NAMES = (
    "exposure",
    "white_balance",
    "low_light",
    "noise",
    "motion_blur",
    "defocus",
    "vignette",
    "haze",
    "tone",
)
HAZY_FAMILIES = ("outdoor", "street", "terrain")  # + showroom clips with sky
HAZE_PROBABILITY = 0.6  # of the non-clean clips of an open-air scene
TONE_PROBABILITY = 0.5  # of the non-clean clips
GAMMA = 2.2
REC709_LUMA = (0.2126, 0.7152, 0.0722)  # luminance weights of linear Rec.709 RGB
Y_MAX = 1.0 - 0.25 / 255  # display value a saturated 255 is read as (still rounds to 255)
X_MAX = -math.log(1.0 - Y_MAX**GAMMA)  # ~6.0: linear value of a saturated pixel


@dataclass
class SensorEffects:
    """Per-clip camera/sensor parameters; ``effects`` names the active ones (empty = clean clip)."""

    seed: int = 0
    effects: tuple[str, ...] = ()
    exposure: float = 1.0  # gain on linear light at mid-clip
    exposure_drift: float = 0.0  # natural-log gain change from the first to the last frame
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel linear gains
    shot_noise: float = 0.0  # noise variance per unit of linear signal (Poisson, output-referred)
    read_noise: float = 0.0  # std of the signal-independent Gaussian noise (linear units)
    shutter: float = 0.0  # fraction of the frame interval the shutter is open
    blur_samples: int = 1  # sub-frames rendered per frame (odd: the middle one is the frame time)
    defocus_coc: float = 0.0  # circle-of-confusion diameter at infinity, pixels per 128 px of width
    focus_scale: float = 1.0  # focus distance = focus_scale * median valid depth of the clip
    vignette: float = 0.0  # linear-light fall-off at the image corners (1 - vignette * r^2)
    haze_visibility: float = 0.0  # metres; blend toward haze_color by 1 - exp(-depth / visibility); 0 = off
    haze_color: tuple[float, float, float] = (0.0, 0.0, 0.0)  # linear RGB of the haze (and of the sky)
    tone_gamma: float = 1.0  # display value y -> y ** gamma
    tone_contrast: float = 0.0  # S-curve strength: y + c (smoothstep(y) - y); negative flattens
    tone_saturation: float = 1.0  # chroma scale about the luminance

    @property
    def clean(self) -> bool:
        return not self.effects

    @property
    def motion_blur(self) -> bool:
        return "motion_blur" in self.effects and self.shutter > 0 and self.blur_samples > 1

    def to_meta(self) -> dict:
        if self.clean:
            return {"clean": True}
        d = dataclasses.asdict(self)
        d["effects"] = list(self.effects)
        d["white_balance"] = list(self.white_balance)
        d["haze_color"] = list(self.haze_color)
        return {"clean": False, **d}


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def haze_allowed(scene_type: str, info: dict | None = None) -> bool:
    """Whether a clip of ``scene_type`` (with scene ``info``) is open air, so haze may be drawn for it."""
    return scene_type in HAZY_FAMILIES or (scene_type == "showroom" and bool((info or {}).get("sky")))


def _sample_grading(seed: int) -> dict:
    """Haze and tone-curve parameters (own stream: the older sensor draws are unchanged)."""
    rng = np.random.default_rng([int(seed), SENSOR_STREAM, GRADING_STREAM])
    haze_on, tone_on = rng.random() < HAZE_PROBABILITY, rng.random() < TONE_PROBABILITY
    visibility = _log_uniform(rng, 20.0, 300.0)
    colour = np.array([0.8, 0.85, 0.95]) * np.exp(rng.normal(0, 0.08, 3)) * _log_uniform(rng, 0.6, 1.6)
    gamma = _log_uniform(rng, 0.7, 1.4)
    contrast, saturation = float(rng.uniform(-0.3, 0.6)), float(rng.uniform(0.6, 1.4))
    return {
        "haze": haze_on,
        "tone": tone_on,
        "haze_visibility": visibility,
        "haze_color": tuple(float(c) for c in colour),
        "tone_gamma": gamma,
        "tone_contrast": contrast,
        "tone_saturation": saturation,
    }


def sample_sensor(seed: int, hazy: bool = False) -> SensorEffects:
    """Deterministic sensor parameters for clip ``seed``: ~35% clean, else a random subset of effects.
    ``hazy``: the clip is open air (:func:`haze_allowed`), so atmospheric haze may be drawn.

    Every value is drawn whether or not its effect is active, so the draws never shift between clips.
    """
    rng = np.random.default_rng([int(seed), SENSOR_STREAM])
    clean = rng.random() < 0.35
    probs = {
        "exposure": 0.5,
        "white_balance": 0.45,
        "low_light": 0.2,
        "noise": 0.35,
        "motion_blur": 0.26,  # x 0.65 not clean = ~17% of clips
        "defocus": 0.35,
        "vignette": 0.3,
    }
    on = {name: rng.random() < p for name, p in probs.items()}
    fallback = str(rng.choice(["exposure", "white_balance", "noise", "defocus", "vignette"]))
    gain = _log_uniform(rng, 0.5, 1.8)
    drift = float(rng.uniform(-0.5, 0.5)) if rng.random() < 0.5 else 0.0
    temp, tint = rng.uniform(-0.25, 0.25), rng.uniform(-0.08, 0.08)
    dark = float(rng.uniform(0.2, 0.5))
    mild = (_log_uniform(rng, 2e-4, 2e-3), _log_uniform(rng, 5e-4, 4e-3))
    strong = (_log_uniform(rng, 2e-3, 1e-2), _log_uniform(rng, 4e-3, 1.5e-2))
    shutter = float(rng.uniform(0.3, 1.0))
    coc, focus = float(rng.uniform(1.0, 4.0)), float(np.clip(math.exp(rng.normal(0, 0.3)), 0.5, 2.0))
    vignette = float(rng.uniform(0.15, 0.5))
    if clean:
        return SensorEffects(seed=int(seed))
    if not any(on.values()):
        on[fallback] = True
    if on["low_light"]:
        on["noise"] = True
    grading = _sample_grading(seed)
    on["haze"] = bool(hazy) and grading["haze"]
    on["tone"] = grading["tone"]
    wb = np.exp([temp, tint, -temp])
    wb = wb / float(np.dot(REC709_LUMA, wb))  # keep luminance
    noise = strong if on["low_light"] else mild
    return SensorEffects(
        seed=int(seed),
        effects=tuple(n for n in EFFECT_NAMES if on[n]),
        exposure=(gain if on["exposure"] else 1.0) * (dark if on["low_light"] else 1.0),
        exposure_drift=drift if on["exposure"] else 0.0,
        white_balance=tuple(float(g) for g in wb) if on["white_balance"] else (1.0, 1.0, 1.0),
        shot_noise=noise[0] if on["noise"] else 0.0,
        read_noise=noise[1] if on["noise"] else 0.0,
        shutter=shutter if on["motion_blur"] else 0.0,
        blur_samples=(5 if shutter > 0.6 else 3) if on["motion_blur"] else 1,
        defocus_coc=coc if on["defocus"] else 0.0,
        focus_scale=focus if on["defocus"] else 1.0,
        vignette=vignette if on["vignette"] else 0.0,
        haze_visibility=grading["haze_visibility"] if on["haze"] else 0.0,
        haze_color=grading["haze_color"] if on["haze"] else (0.0, 0.0, 0.0),
        tone_gamma=grading["tone_gamma"] if on["tone"] else 1.0,
        tone_contrast=grading["tone_contrast"] if on["tone"] else 0.0,
        tone_saturation=grading["tone_saturation"] if on["tone"] else 1.0,
    )


def resolve_effects(effects, seed: int, hazy: bool = False) -> SensorEffects | None:
    """``"none"``/None -> None (clean render), ``"auto"`` -> :func:`sample_sensor` (``hazy``: an open-air
    clip), or a SensorEffects."""
    if effects is None or effects == "none":
        return None
    if effects == "auto":
        return sample_sensor(seed, hazy)
    if isinstance(effects, SensorEffects):
        return effects
    raise ValueError(f"effects must be 'auto', 'none' or a SensorEffects, not {effects!r}")


# ------------------------------------------------------------------------------------ display transform


def to_linear(rgb: np.ndarray) -> np.ndarray:
    """uint8 display RGB [...,3] -> exposed linear radiance float32 (inverse of the renderers' tonemap)."""
    y = np.minimum(rgb.astype(np.float32) / 255.0, Y_MAX)
    return -np.log1p(-(y**GAMMA))


def to_display(x: np.ndarray) -> np.ndarray:
    """Linear radiance -> display value in [0, 1] (the renderers' tonemap)."""
    return (-np.expm1(-np.maximum(x, 0.0))) ** (1.0 / GAMMA)


def quantise(y: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(y * 255.0 + 0.5), 0, 255).astype(np.uint8)


def display_slope(x: np.ndarray) -> np.ndarray:
    """d(display)/d(linear) of :func:`to_display` at linear value ``x``."""
    x = np.maximum(np.asarray(x, np.float64), 1e-9)
    return (1.0 / GAMMA) * (-np.expm1(-x)) ** (1.0 / GAMMA - 1.0) * np.exp(-x)


def predicted_noise_std(display: np.ndarray | float, sensor: SensorEffects) -> np.ndarray:
    """Std (uint8 levels) of the output at noise-free display value ``display`` in [0, 1] (delta method +
    rounding): what :func:`apply_sensor` produces on a flat region."""
    x = -np.log1p(-(np.asarray(display, np.float64) ** GAMMA))
    sigma = np.sqrt(sensor.shot_noise * x + sensor.read_noise**2)
    return np.sqrt((255.0 * display_slope(x) * sigma) ** 2 + 1.0 / 12.0)


# ---------------------------------------------------------------------------------------- motion blur


def _rot_log(R: np.ndarray) -> np.ndarray:
    """Rotation matrix -> axis * angle (angle < pi)."""
    cos = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    angle = math.acos(cos)
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if angle < 1e-12:
        return 0.5 * w
    return w * (angle / (2.0 * math.sin(angle)))


def _rot_exp(w: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(w))
    if angle < 1e-12:
        return np.eye(3)
    k = w / angle
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * (K @ K)


def interpolate_pose(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Pose at fraction ``alpha`` from ``a`` to ``b`` (4x4 c2w): translation linear, rotation geodesic
    (slerp); ``alpha`` outside [0, 1] extrapolates."""
    out = np.eye(4)
    out[:3, :3] = _rot_exp(alpha * _rot_log(b[:3, :3] @ a[:3, :3].T)) @ a[:3, :3]
    out[:3, 3] = (1 - alpha) * a[:3, 3] + alpha * b[:3, 3]
    return out


def pose_at_offset(c2w: np.ndarray, times: np.ndarray, i: int, dt: float) -> np.ndarray:
    """Camera pose ``dt`` seconds after frame ``i`` of the track (c2w [T,4,4], times [T]), interpolated
    between neighbouring frames and extrapolated past the ends; exactly ``c2w[i]`` at ``dt == 0``."""
    T = len(times)
    if dt == 0 or T < 2:
        return c2w[i].copy()
    if (dt > 0 and i < T - 1) or i == 0:  # forwards, or backwards before the first frame
        return interpolate_pose(c2w[i], c2w[i + 1], dt / (times[i + 1] - times[i]))
    return interpolate_pose(c2w[i - 1], c2w[i], 1.0 + dt / (times[i] - times[i - 1]))


def shutter_offsets(shutter: float, samples: int, frame_dt: float) -> np.ndarray:
    """Sub-frame time offsets [S] spread evenly over the open shutter, centred on the frame time."""
    if samples < 2:
        return np.zeros(1)
    return shutter * frame_dt * (np.arange(samples) / (samples - 1) - 0.5)


def subframe_track(track, shutter: float, samples: int):
    """The track with S sub-frames per frame (frame-major: [T*S] poses and times); sub-frame S//2 of each
    frame is exactly the frame's own pose and time when S is odd."""
    times = np.asarray(track.times, np.float64)  # [T]
    T = len(times)
    frame_dt = float(np.median(np.diff(times))) if T > 1 else 1.0 / 30
    offsets = shutter_offsets(shutter, samples, frame_dt)  # [S]
    c2w = np.stack([pose_at_offset(track.c2w, times, i, float(o)) for i in range(T) for o in offsets])
    sub_times = (times[:, None] + offsets[None, :]).reshape(-1)  # [T*S]
    sub_times[samples // 2 :: samples] = times  # exact frame times
    return dataclasses.replace(track, c2w=c2w, times=sub_times)


# -------------------------------------------------------------------------------------------- defocus


def disc_kernel(radius: float) -> np.ndarray:
    """Normalised disc of ``radius`` px with anti-aliased edge, [2R+1, 2R+1] (R = ceil(radius))."""
    R = int(math.ceil(radius))
    yy, xx = np.mgrid[-R : R + 1, -R : R + 1]
    k = np.clip(radius + 0.5 - np.hypot(yy, xx), 0.0, 1.0)
    return k / k.sum()


def coc_pixels(depth: np.ndarray, valid: np.ndarray, focus: float, coc_inf: float) -> np.ndarray:
    """Thin-lens circle of confusion in pixels, ``c(d) = A f |1/f_d - 1/d|`` written as
    ``coc_inf * |1 - f_d / d|`` (``coc_inf = A f / f_d``: the CoC at infinity); invalid depth = far.
    Capped at 2 ``coc_inf``."""
    inv_d = np.where(valid, 1.0 / np.maximum(depth, 1e-6), 0.0)  # [T,H,W]
    return np.minimum(coc_inf * np.abs(1.0 - focus * inv_d), 2.0 * coc_inf).astype(np.float32)


def defocus(lin: np.ndarray, coc: np.ndarray) -> np.ndarray:
    """Depth-of-field blur: each frame blurred with discs of radius 1 .. R px (FFT convolution, reflect
    padding) and blended per pixel by the CoC radius ``coc / 2`` (radius 0 = the frame itself).
    lin [T,H,W,3], coc [T,H,W]."""
    T, H, W, _ = lin.shape
    radius = coc / 2.0  # [T,H,W]
    R = int(math.ceil(float(radius.max())))
    if R == 0:
        return lin
    Hp, Wp = H + 2 * R, W + 2 * R
    kernels = []  # rfft2 of the discs, centred at the origin of the padded frame
    for r in range(1, R + 1):
        k = np.zeros((Hp, Wp))
        k[: 2 * r + 1, : 2 * r + 1] = disc_kernel(float(r))
        kernels.append(np.fft.rfft2(np.roll(k, (-r, -r), axis=(0, 1))))
    out = lin.copy()
    for t in range(T):
        spec = np.fft.rfft2(np.pad(lin[t], ((R, R), (R, R), (0, 0)), mode="reflect"), axes=(0, 1))  # [Hp,Wf,3]
        prev = lin[t]
        for r, kf in enumerate(kernels, start=1):
            level = np.fft.irfft2(spec * kf[..., None], s=(Hp, Wp), axes=(0, 1))[R : R + H, R : R + W]
            w = np.clip(radius[t] - (r - 1), 0.0, 1.0)[..., None]  # [H,W,1] weight over the previous level
            band = ((radius[t] > r - 1) & (radius[t] <= r))[..., None]
            out[t] = np.where(band, (1 - w) * prev + w * level, out[t])
            prev = level
    return out


# ------------------------------------------------------------------------------------ haze, tone curve


def haze(lin: np.ndarray, depth: np.ndarray, valid: np.ndarray, visibility: float, colour) -> np.ndarray:
    """Atmospheric perspective: each pixel blended toward the haze ``colour`` (linear RGB) by
    ``1 - exp(-depth / visibility)``; invalid depth (sky) takes the full haze colour. lin [T,H,W,3]."""
    f = np.where(valid, -np.expm1(-np.maximum(depth, 0.0) / float(visibility)), 1.0)[..., None]
    return (lin * (1.0 - f) + np.asarray(colour, np.float32) * f).astype(np.float32)


def tone_curve(y: np.ndarray, gamma: float, contrast: float, saturation: float) -> np.ndarray:
    """Global grading of display values ``y`` [...,3] in [0, 1]: ``y ** gamma``, an S-curve of strength
    ``contrast`` (``y + c (3y^2 - 2y^3 - y)``; negative flattens), then saturation about the luminance."""
    y = np.clip(y, 0.0, 1.0) ** gamma
    y = y + contrast * (y * y * (3.0 - 2.0 * y) - y)
    lum = (y * np.array(REC709_LUMA, np.float32)).sum(-1, keepdims=True)
    return np.clip(lum + saturation * (y - lum), 0.0, 1.0)


# ------------------------------------------------------------------------------------- exposure, noise


def vignette_map(H: int, W: int, strength: float) -> np.ndarray:
    """Linear-light fall-off 1 - strength * (r / r_corner)^2, [H,W]."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((yy - (H - 1) / 2) ** 2 + (xx - (W - 1) / 2) ** 2) / (((H - 1) / 2) ** 2 + ((W - 1) / 2) ** 2)
    return 1.0 - strength * r2


def frame_gains(sensor: SensorEffects, T: int) -> np.ndarray:
    """Per-frame, per-channel linear gains [T,3]: exposure with its drift times the white balance."""
    ramp = np.linspace(-0.5, 0.5, T) if T > 1 else np.zeros(1)
    g = sensor.exposure * np.exp(sensor.exposure_drift * ramp)  # [T]
    return (g[:, None] * np.asarray(sensor.white_balance)[None, :]).astype(np.float32)


def add_noise(lin: np.ndarray, sensor: SensorEffects) -> np.ndarray:
    """Poisson-Gaussian noise, independent per pixel, channel and frame: ``x / shot_noise`` photo-electrons
    with Poisson counts (variance ``shot_noise * x``) plus Gaussian read noise. Counts of 64 and more are
    drawn from the normal approximation (same mean and variance; ~8x faster than numpy's Poisson)."""
    if sensor.shot_noise <= 0 and sensor.read_noise <= 0:
        return lin
    rng = np.random.default_rng([int(sensor.seed), SENSOR_STREAM, NOISE_STREAM])
    x = np.maximum(lin, 0.0).astype(np.float32)  # [T,H,W,3]
    if sensor.shot_noise > 0:
        lam = x / np.float32(sensor.shot_noise)
        big = lam >= 64
        counts = np.empty_like(lam)
        counts[big] = lam[big] + np.sqrt(lam[big]) * rng.standard_normal(int(big.sum()), np.float32)
        counts[~big] = rng.poisson(lam[~big])
        x = counts * np.float32(sensor.shot_noise)
    if sensor.read_noise > 0:
        x = x + np.float32(sensor.read_noise) * rng.standard_normal(x.shape, np.float32)
    return x


def apply_sensor(
    lin: np.ndarray, depth: np.ndarray, valid: np.ndarray, K: np.ndarray, sensor: SensorEffects
) -> tuple[np.ndarray, dict]:
    """Linear RGB [T,H,W,3] (motion blur already integrated) -> uint8 display RGB with haze, defocus,
    vignetting, exposure / white balance, noise and the tone curve; returns the frames and the resolved
    values for meta.json."""
    T, H, W, _ = lin.shape
    info: dict = {}
    if "haze" in sensor.effects and sensor.haze_visibility > 0:
        lin = haze(lin, depth, valid, sensor.haze_visibility, sensor.haze_color)
    if "defocus" in sensor.effects and sensor.defocus_coc > 0:
        median = float(np.median(depth[valid])) if valid.any() else 10.0
        focus = sensor.focus_scale * median
        coc_inf = sensor.defocus_coc * W / 128.0
        lin = defocus(lin, coc_pixels(depth, valid, focus, coc_inf))
        info.update(
            focus_distance_m=focus,
            coc_inf_px=coc_inf,
            aperture_m=coc_inf * focus / float(K[0, 0]),  # A from coc_inf = A f / f_d
        )
    if sensor.vignette > 0:
        lin = lin * vignette_map(H, W, sensor.vignette)[None, :, :, None]
    lin = lin * frame_gains(sensor, T)[:, None, None, :]
    lin = add_noise(lin, sensor)
    y = to_display(lin)
    if "tone" in sensor.effects:
        y = tone_curve(y, sensor.tone_gamma, sensor.tone_contrast, sensor.tone_saturation)
    return quantise(y), info


def render_with_sensor(renderer, scene, track, sensor: SensorEffects):
    """Render ``track`` through the camera model: S sub-frames per frame when motion blur is on (their
    linear light averaged), depth / validity from the frame times; returns (RenderResult, info)."""
    from .shading import RenderResult

    if sensor.motion_blur:
        S = int(sensor.blur_samples)
        if S % 2 == 0:
            raise ValueError(f"blur_samples must be odd (the middle sub-frame is the frame time), not {S}")
        res = renderer.render(scene, subframe_track(track, sensor.shutter, S))
        T = track.frames
        lin = to_linear(res.rgb).reshape(T, S, *res.rgb.shape[1:]).mean(axis=1)  # [T,H,W,3]
        depth, valid = res.depth[S // 2 :: S].copy(), res.valid[S // 2 :: S].copy()
    else:
        res = renderer.render(scene, track)
        lin, depth, valid = to_linear(res.rgb), res.depth, res.valid
    rgb, info = apply_sensor(lin, depth, valid, track.K, sensor)
    return RenderResult(rgb=rgb, depth=depth, valid=valid), info
