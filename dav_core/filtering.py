"""Training-data clip filtering: drop clips with scene cuts or depth/image misalignment.

Following the Depth Any Video data pipeline, a (RGB, depth) training clip is rejected when

* it contains a scene cut (PySceneDetect ``ContentDetector`` on the RGB frames, plus a cheap check for
  jumps of the median log-depth between neighbouring frames),
* its depth edges do not coincide with image edges: the image gradient along the occlusion edges of
  the depth must stand out against random offsets, and no other spatial offset may explain the depth
  edges clearly better than offset 0 (scored relative to the clip itself, so texture and low contrast
  cancel out),
* its depth is shifted in time relative to the RGB: neither the edge agreement of depth frame
  ``t + lag`` with image frame ``t`` nor the correlation between RGB and depth motion maps may peak
  clearly away from lag 0.

How the default thresholds were calibrated: ``docs/clip_filter_calibration.md``.

Inputs are numpy arrays: ``rgb`` uint8 ``[T,H,W,3]`` and ``depth`` float ``[T,H,W]`` in metres, where
``inf`` or ``<= 0`` marks invalid pixels (NaN is rejected: mark invalid pixels explicitly).
PySceneDetect (``scenedetect`` + OpenCV) is imported lazily, only when scene cuts are detected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.filters import gaussian_blur2d, spatial_gradient

logger = logging.getLogger(__name__)

# reason codes in FilterReport.reasons
SCENE_CUT = "scene_cut"
DEPTH_JUMP = "depth_jump"
EDGE_MISALIGNMENT = "edge_misalignment"
TEMPORAL_MISALIGNMENT = "temporal_misalignment"
INVALID_DEPTH = "invalid_depth"


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------


def validate_clip(rgb: np.ndarray, depth: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``rgb`` is uint8 ``[T,H,W,3]`` and ``depth`` a NaN-free float ``[T,H,W]``."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise ValueError(
            f"rgb must be a uint8 numpy array [T,H,W,3], got {type(rgb).__name__} "
            f"{getattr(rgb, 'dtype', None)} {getattr(rgb, 'shape', None)}"
        )
    if not isinstance(depth, np.ndarray) or depth.ndim != 3 or not np.issubdtype(depth.dtype, np.floating):
        raise ValueError(
            f"depth must be a float numpy array [T,H,W], got {type(depth).__name__} "
            f"{getattr(depth, 'dtype', None)} {getattr(depth, 'shape', None)}"
        )
    if rgb.shape[:3] != depth.shape:
        raise ValueError(f"rgb [T,H,W,3] and depth [T,H,W] must agree, got {rgb.shape} and {depth.shape}")
    t, h, w = depth.shape
    if t < 2 or h < 8 or w < 8:
        raise ValueError(f"clip must have T >= 2 frames of at least 8x8 pixels, got T={t}, H={h}, W={w}")
    if np.isnan(depth).any():
        raise ValueError("depth contains NaN; mark invalid pixels with inf or 0 instead")


def _valid_log_depth(depth: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-depth with invalid pixels filled by the frame median, and the validity mask; both ``[T,H,W]``."""
    d = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))  # [T,H,W]
    valid = torch.isfinite(d) & (d > 0)
    log_d = torch.log(torch.where(valid, d, torch.ones_like(d)))
    med = median_log_depth(log_d, valid)  # [T]
    fill = torch.nan_to_num(med, nan=0.0)[:, None, None].expand_as(log_d)
    return torch.where(valid, log_d, fill), valid


def median_log_depth(log_depth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-frame median of ``log_depth`` over valid pixels, ``[T]`` (NaN for frames without valid pixels)."""
    masked = torch.where(valid, log_depth, torch.full_like(log_depth, float("nan")))
    return masked.flatten(1).nanmedian(dim=1).values  # [T]


# ----------------------------------------------------------------------------------------------
# scene cuts
# ----------------------------------------------------------------------------------------------


def detect_scene_cuts(rgb: np.ndarray, threshold: float = 27.0) -> tuple[list[int], np.ndarray]:
    """Scene cuts via PySceneDetect: ``(cut frame indices, per-frame content scores [T])``.

    A cut at ``k`` means a new scene starts at frame ``k``. Frames are fed one by one to
    ``scenedetect.detectors.ContentDetector`` (no video file); ``threshold`` is its HSV content-change
    threshold (0-255 scale) and ``min_scene_len`` is 0 so cuts in short clips are kept. The score of
    frame 0 is 0. Works with PySceneDetect 0.6 (integer frame numbers) and 0.7 (``FrameTimecode``).
    """
    try:
        import scenedetect
        from scenedetect import StatsManager
        from scenedetect.detectors import ContentDetector
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "scene-cut detection needs PySceneDetect: pip install scenedetect opencv-python-headless"
        ) from err
    if rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.shape[0] == 0:
        raise ValueError(f"rgb must be uint8 [T,H,W,3] with T >= 1, got {rgb.dtype} {rgb.shape}")
    major, minor = (int(p) for p in scenedetect.__version__.split(".")[:2])
    detector = ContentDetector(threshold=threshold, min_scene_len=0)
    stats = StatsManager()
    detector.stats_manager = stats
    cuts: list[int] = []
    scores = np.zeros(rgb.shape[0], dtype=np.float64)  # [T]
    for k in range(rgb.shape[0]):
        frame_bgr = np.ascontiguousarray(rgb[k, :, :, ::-1])  # [H,W,3] BGR as OpenCV expects
        position = scenedetect.FrameTimecode(k, fps=30.0) if (major, minor) >= (0, 7) else k
        cuts.extend(int(getattr(c, "frame_num", c)) for c in detector.process_frame(position, frame_bgr))
        if k > 0:
            scores[k] = float(stats.get_metrics(position, [ContentDetector.FRAME_SCORE_KEY])[0])
    return sorted(set(cuts)), scores


def content_spikes(scores: np.ndarray, window: int = 3, floor: float = 2.0) -> np.ndarray:
    """How far each frame's content score stands out: ``scores[k]`` over the median score of the frames
    within ``window`` of ``k`` (``k`` and frame 0 left out; at least ``floor``), ``[T]`` (frame 0: 0).

    A cut is one spike; fast motion, noise or flicker raise the scores of every frame alike.
    """
    ratios = np.zeros_like(scores)  # [T]
    for k in range(1, len(scores)):
        around = [scores[j] for j in range(max(1, k - window), min(len(scores), k + window + 1)) if j != k]
        ratios[k] = scores[k] / max(float(np.median(around)) if around else 0.0, floor)
    return ratios


def depth_jumps(depth: np.ndarray, max_log_jump: float) -> tuple[list[int], float]:
    """Frames ``k`` where ``|median log depth[k] - [k-1]| > max_log_jump``, and the largest jump seen.

    Frames without valid depth are ignored (the jump across them is not measured).
    """
    log_d, valid = _valid_log_depth(depth)
    med = median_log_depth(log_d, valid)  # [T]
    jumps = (med[1:] - med[:-1]).abs()  # [T-1], NaN next to empty frames
    finite = torch.isfinite(jumps)
    cuts = [k + 1 for k in torch.nonzero(finite & (jumps > max_log_jump)).flatten().tolist()]
    largest = float(jumps[finite].max()) if bool(finite.any()) else 0.0
    return cuts, largest


# ----------------------------------------------------------------------------------------------
# spatial alignment
# ----------------------------------------------------------------------------------------------


def _gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Canny's gradient magnitude before non-maximum suppression: unnormalised Sobel of the 5x5, sigma-1
    Gaussian-blurred input, ``[B,1,H,W] -> [B,1,H,W]`` (a unit step gives about 2.6)."""
    blurred = gaussian_blur2d(x, (5, 5), (1.0, 1.0))
    grad = spatial_gradient(blurred, normalized=False)  # [B,1,2,H,W]
    return grad.norm(dim=2)


def depth_discontinuities(depth: np.ndarray, threshold: float = 0.1, border_px: int = 2) -> torch.Tensor:
    """Occlusion edges of the depth maps, bool ``[T,H,W]``.

    Disparity ``1/z`` of a plane is affine in pixel coordinates, so its second difference vanishes on
    every planar surface however oblique (floors, corridor walls, terrain slopes), whereas log-depth
    Canny fires there. A pixel is a depth edge when ``|D(p-u) - 2 D(p) + D(p+u)| / D(p) > threshold``
    for one of the four directions ``u`` (horizontal, vertical, both diagonals): a step between depths
    ``z1 < z2`` gives about ``1 - z1/z2`` on both sides, so 0.1 keeps steps of >= ~1.1x. Pixels within
    ``border_px`` of invalid depth or of the frame border are dropped.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    d = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))  # [T,H,W]
    valid = torch.isfinite(d) & (d > 0)
    disp = torch.where(valid, 1.0 / torch.where(valid, d, torch.ones_like(d)), torch.zeros_like(d))
    _, h, w = d.shape
    p = F.pad(disp[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]  # [T,H+2,W+2]
    centre = p[:, 1 : h + 1, 1 : w + 1]
    second = torch.zeros_like(d)
    for (y0, x0), (y1, x1) in (((0, 1), (2, 1)), ((1, 0), (1, 2)), ((0, 0), (2, 2)), ((0, 2), (2, 0))):
        pair = p[:, y0 : y0 + h, x0 : x0 + w] + p[:, y1 : y1 + h, x1 : x1 + w]
        second = torch.maximum(second, (pair - 2 * centre).abs())
    edges = second > threshold * centre.clamp_min(1e-12)
    pad = F.pad((~valid).float()[:, None], (border_px,) * 4, value=1.0)  # border counts as invalid
    near_invalid = F.max_pool2d(pad, 2 * border_px + 1, stride=1)[:, 0] > 0  # [T,H,W]
    return edges & valid & ~near_invalid


def depth_edge_is_horizontal(depth: np.ndarray) -> torch.Tensor:
    """Bool ``[T,H,W]``: the disparity gradient is more vertical than horizontal, i.e. an edge through
    the pixel runs more horizontally. Only horizontal edges can reveal a vertical shift, and vice versa."""
    d = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32))  # [T,H,W]
    valid = torch.isfinite(d) & (d > 0)
    disp = torch.where(valid, 1.0 / torch.where(valid, d, torch.ones_like(d)), torch.zeros_like(d))
    grad = spatial_gradient(disp[:, None], normalized=False)[:, 0]  # [T,2,H,W] (d/dx, d/dy)
    return grad[:, 1].abs() > grad[:, 0].abs()


def image_gradient(rgb: np.ndarray) -> torch.Tensor:
    """Colour gradient magnitude per frame, divided by the frame's mean, ``[T,H,W]``.

    Canny's pre-suppression magnitude (sigma-1 blur, Sobel) of each RGB channel, combined as the
    Euclidean norm over channels so that boundaries between equally bright but differently coloured
    surfaces count. Dividing by the frame mean makes every frame weigh the same.
    """
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float() / 255.0  # [T,3,H,W]
    t, c, h, w = x.shape
    g = _gradient_magnitude(x.reshape(t * c, 1, h, w)).reshape(t, c, h, w).norm(dim=1)  # [T,H,W]
    return g / g.flatten(1).mean(1).clamp_min(1e-6)[:, None, None]


def edge_profile(grad: torch.Tensor, dep_edges: torch.Tensor, search_px: int) -> torch.Tensor | None:
    """Mean of ``grad`` at ``p + (dy, dx)`` over depth-edge pixels ``p`` (pooled over frames),
    ``[2S+1,2S+1]`` with entry ``(dy+S, dx+S)``; None without depth edges. One cross-correlation."""
    s = search_px
    total = float(dep_edges.sum())
    if total == 0:
        return None
    img = F.pad(grad.float(), (s, s, s, s))[None]  # [1,T,H+2S,W+2S]
    return F.conv2d(img, dep_edges.float()[None])[0, 0] / total  # [2S+1,2S+1]


def profile_baseline(profile: torch.Tensor, min_offset_px: int = 3) -> float:
    """What a random alignment gives: the median of ``profile`` over offsets at Chebyshev distance
    ``>= min_offset_px`` from 0 (a single misalignment peak there barely moves the median)."""
    s = profile.shape[0] // 2
    r = torch.arange(-s, s + 1)
    cheb = torch.maximum(r[:, None].abs(), r[None, :].abs())
    return float(profile[cheb >= min_offset_px].median())


def edge_lag_contrast(
    grad: torch.Tensor, dep_edges: torch.Tensor, search_px: int, max_lag: int
) -> dict[int, float]:
    """Edge contrast of depth frame ``t + lag`` against image frame ``t`` for ``|lag| <= max_lag``: the
    best profile value within 1 px of offset 0 over :func:`profile_baseline`. Aligned clips peak at lag
    0; depth showing the scene ``k`` frames ahead (``depth[t] = true_depth[t + k]``) peaks at ``-k``.
    NaN where no depth edges overlap."""
    n = grad.shape[0]
    s = search_px
    out: dict[int, float] = {}
    for lag in range(-max_lag, max_lag + 1):
        a0, a1 = max(0, -lag), min(n, n - lag)
        prof = edge_profile(grad[a0:a1], dep_edges[a0 + lag : a1 + lag], s) if a1 > a0 else None
        if prof is None:
            out[lag] = float("nan")
            continue
        base = profile_baseline(prof)
        out[lag] = float(prof[s - 1 : s + 2, s - 1 : s + 2].max()) / base if base > 0 else float("nan")
    return out


# ----------------------------------------------------------------------------------------------
# temporal alignment
# ----------------------------------------------------------------------------------------------


def motion_maps(rgb: np.ndarray, depth: np.ndarray, pool: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame-difference magnitudes of gray RGB and of log-depth, average-pooled by ``pool``: ``[T-1,h,w]`` each."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float() / 255.0  # [T,3,H,W]
    gray = rgb_to_grayscale(x)  # [T,1,H,W]
    log_d, valid = _valid_log_depth(depth)  # [T,H,W]
    both = (valid[1:] & valid[:-1])[:, None]  # [T-1,1,H,W]
    m_rgb = (gray[1:] - gray[:-1]).abs()  # [T-1,1,H,W]
    m_dep = torch.where(both, (log_d[1:] - log_d[:-1]).abs()[:, None], torch.zeros_like(m_rgb))
    k = max(1, min(pool, *rgb.shape[1:3]))
    return F.avg_pool2d(m_rgb, k)[:, 0], F.avg_pool2d(m_dep, k)[:, 0]


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    denom = float(a.norm() * b.norm())
    return float((a * b).sum()) / denom if denom > 1e-12 else float("nan")


def motion_lag_correlation(m_rgb: torch.Tensor, m_dep: torch.Tensor, max_lag: int) -> dict[int, float]:
    """Mean spatial correlation of ``m_rgb[t]`` with ``m_dep[t + lag]`` for ``|lag| <= max_lag``.

    Aligned clips peak at lag 0; depth that shows the scene ``k`` frames ahead of the RGB
    (``depth[t] = true_depth[t + k]``) peaks at ``lag = -k``. Pairs where either map is constant are
    skipped; a lag without any usable pair maps to NaN.
    """
    n = m_rgb.shape[0]
    out: dict[int, float] = {}
    for lag in range(-max_lag, max_lag + 1):
        vals = [_pearson(m_rgb[t], m_dep[t + lag]) for t in range(max(0, -lag), min(n, n - lag))]
        vals = [v for v in vals if v == v]  # drop NaN (static frames)
        out[lag] = sum(vals) / len(vals) if vals else float("nan")
    return out


# ----------------------------------------------------------------------------------------------
# the filter
# ----------------------------------------------------------------------------------------------


@dataclass
class FilterReport:
    """Outcome of :meth:`ClipFilter.check_clip`.

    ``reasons`` holds reason codes (``scene_cut``, ``depth_jump``, ``edge_misalignment``,
    ``temporal_misalignment``, ``invalid_depth``); ``messages`` explains each; ``scores`` holds the
    measured values (NaN where a check could not be measured, e.g. no depth edges or no motion).
    """

    passed: bool
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    scene_cuts: list[int] = field(default_factory=list)
    depth_cuts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ClipFilter:
    """Thresholds for :meth:`check_clip`.

    Misalignment is scored relative to a reference, not in absolute terms: the colour-gradient profile
    around the occlusion edges of the depth (:func:`edge_profile`) is compared at offset 0 against random
    offsets (``edge_contrast``), against the best offset along each axis (``edge_offset_gain``), and
    against depth frames 1-3 earlier or later (``edge_lag_gain``), so how textured or low-contrast a scene
    is cancels out. Calibration and measured score ranges: ``docs/clip_filter_calibration.md``.

    Attributes:
        scene_threshold: PySceneDetect ``ContentDetector`` threshold (mean HSV change, 0-255 scale).
        scene_spike_ratio: a frame over ``scene_threshold`` is a cut only when its score is this many
            times the median score of the 3 frames either side (:func:`content_spikes`); 0 turns it off.
        use_scenedetect: run PySceneDetect (needs ``scenedetect`` and OpenCV); the depth-jump check runs always.
        max_log_depth_jump: max ``|delta median log depth|`` between neighbours; 1.0 = a factor of 2.7 (a
            near object filling the frame moves it by up to ~1.9 in clean clips, a splice by 0.03-3.2).
        depth_edge_threshold: relative second difference of disparity marking an occlusion edge
            (:func:`depth_discontinuities`); 0.1 keeps depth steps of >= ~1.1x.
        min_depth_edge_px: frames with fewer depth-edge pixels are not scored (flat scenes).
        edge_search_px: spatial offsets searched around the depth edges.
        min_edge_contrast: min image-gradient profile at offset 0 over its median at offsets >= 3 px.
        max_edge_offset_px: an offset peak within this many pixels of 0 is never flagged.
        min_offset_gain: a peak further away is flagged when it beats the best value within 1 px of 0 by
            this factor.
        max_lag: temporal lags searched (edge profile and motion correlation); 0 turns both lag checks off.
        edge_lag_margin: a lag != 0 is flagged when its edge contrast beats lag 0 by more than this.
        lag_margin: a lag != 0 is flagged when its motion correlation beats lag 0 by more than this.
        min_valid_fraction: every frame needs at least this fraction of valid depth pixels.
    """

    scene_threshold: float = 20.0
    scene_spike_ratio: float = 2.5
    use_scenedetect: bool = True
    max_log_depth_jump: float = 1.0
    depth_edge_threshold: float = 0.1
    min_depth_edge_px: int = 16
    edge_search_px: int = 6
    min_edge_contrast: float = 1.10
    max_edge_offset_px: int = 1
    min_offset_gain: float = 1.7
    max_lag: int = 3
    edge_lag_margin: float = 0.25
    lag_margin: float = 0.10
    min_valid_fraction: float = 0.05

    def __post_init__(self) -> None:
        positive = {
            "scene_threshold": self.scene_threshold,
            "max_log_depth_jump": self.max_log_depth_jump,
            "depth_edge_threshold": self.depth_edge_threshold,
            "min_edge_contrast": self.min_edge_contrast,
            "min_offset_gain": self.min_offset_gain,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"ClipFilter.{name} must be > 0, got {value}")
        if not 0 <= self.min_valid_fraction < 1:
            raise ValueError(
                f"ClipFilter.min_valid_fraction must be in [0, 1), got {self.min_valid_fraction}"
            )
        counts = {
            "min_depth_edge_px": self.min_depth_edge_px,
            "edge_search_px": self.edge_search_px,
            "max_edge_offset_px": self.max_edge_offset_px,
            "max_lag": self.max_lag,
        }
        for name, value in counts.items():
            if not (isinstance(value, int) and value >= 0):
                raise ValueError(f"ClipFilter.{name} must be an int >= 0, got {value!r}")
        for name in ("lag_margin", "edge_lag_margin", "scene_spike_ratio"):
            if getattr(self, name) < 0:
                raise ValueError(f"ClipFilter.{name} must be >= 0, got {getattr(self, name)}")

    def check_clip(self, rgb: np.ndarray, depth: np.ndarray) -> FilterReport:
        """Run all checks on one clip (rgb uint8 ``[T,H,W,3]``, depth ``[T,H,W]``) and collect the verdict."""
        validate_clip(rgb, depth)
        report = FilterReport(passed=True)
        self._check_valid_depth(depth, report)
        self._check_cuts(rgb, depth, report)
        self._check_edges(rgb, depth, report)
        self._check_temporal(rgb, depth, report)
        report.passed = not report.reasons
        logger.debug(
            "check_clip: passed=%s reasons=%s scores=%s", report.passed, report.reasons, report.scores
        )
        return report

    @staticmethod
    def _flag(report: FilterReport, code: str, message: str) -> None:
        if code not in report.reasons:
            report.reasons.append(code)
        report.messages.append(f"{code}: {message}")

    def _check_valid_depth(self, depth: np.ndarray, report: FilterReport) -> None:
        frac = (np.isfinite(depth) & (depth > 0)).reshape(depth.shape[0], -1).mean(axis=1)  # [T]
        report.scores["min_valid_fraction"] = float(frac.min())
        bad = np.nonzero(frac < self.min_valid_fraction)[0].tolist()
        if bad:
            self._flag(
                report, INVALID_DEPTH, f"frames {bad} have < {self.min_valid_fraction:.0%} valid depth"
            )

    def _check_cuts(self, rgb: np.ndarray, depth: np.ndarray, report: FilterReport) -> None:
        if self.use_scenedetect:
            cuts, content = detect_scene_cuts(rgb, self.scene_threshold)
            spikes = content_spikes(content)
            report.scene_cuts = [k for k in cuts if spikes[k] >= self.scene_spike_ratio]
            report.scores["max_content_score"] = float(content.max())
            report.scores["max_content_spike"] = float(spikes.max())
            if report.scene_cuts:
                self._flag(report, SCENE_CUT, f"PySceneDetect cuts at frames {report.scene_cuts}")
        report.depth_cuts, largest = depth_jumps(depth, self.max_log_depth_jump)
        report.scores["max_log_depth_jump"] = largest
        if report.depth_cuts:
            self._flag(
                report,
                DEPTH_JUMP,
                f"median log-depth jumps by {largest:.2f} (> {self.max_log_depth_jump})"
                f" at frames {report.depth_cuts}",
            )

    def _check_edges(self, rgb: np.ndarray, depth: np.ndarray, report: FilterReport) -> None:
        grad = image_gradient(rgb)  # [T,H,W]
        dep = depth_discontinuities(depth, self.depth_edge_threshold)  # [T,H,W]
        enough = dep.flatten(1).sum(1) >= self.min_depth_edge_px  # [T], frames with depth edges to score
        report.scores["depth_edge_px"] = float(dep[enough].sum())
        if not self._check_edge_contrast(grad[enough], dep[enough], report):
            report.scores["edge_offset_px"] = float("nan")  # no depth edges: offset and lag are not checked
            return
        horizontal = depth_edge_is_horizontal(depth)[enough]  # [T',H,W]
        self._check_edge_offset(grad[enough], dep[enough], horizontal, report)
        self._check_edge_lag(grad, dep, report)

    def _check_edge_contrast(self, grad: torch.Tensor, dep: torch.Tensor, report: FilterReport) -> bool:
        """Image gradient on the depth edges (offset 0) against random offsets; False if not measurable."""
        s = self.edge_search_px
        prof = edge_profile(grad, dep, s) if dep.shape[0] > 0 else None
        base = profile_baseline(prof) if prof is not None else 0.0
        if prof is None or not base > 0:
            report.scores["edge_contrast"] = float("nan")
            logger.debug(
                "check_clip: no frame has >= %d depth-edge pixels, edge check skipped", self.min_depth_edge_px
            )
            return False
        contrast = float(prof[s, s]) / base
        report.scores["edge_contrast"] = contrast
        if contrast < self.min_edge_contrast:
            self._flag(
                report,
                EDGE_MISALIGNMENT,
                f"image gradient on depth edges is {contrast:.2f}x its value at random offsets"
                f" (< {self.min_edge_contrast})",
            )
        return True

    def _check_edge_offset(
        self, grad: torch.Tensor, dep: torch.Tensor, horizontal: torch.Tensor, report: FilterReport
    ) -> None:
        """Spatial shift: no offset along y or x may match the image edges clearly better than offset 0."""
        s = self.edge_search_px
        # shift search per axis: horizontal depth edges locate dy, vertical ones dx (pooling both would
        # let the edges parallel to a shift, which it does not move, hide it)
        offsets, gains = [0, 0], [1.0, 1.0]
        for axis, edges in ((0, dep & horizontal), (1, dep & ~horizontal)):
            p = edge_profile(grad, edges, s)
            if p is None or int(edges.sum()) < self.min_depth_edge_px:
                continue
            line = p[:, s - 1 : s + 2].amax(dim=1) if axis == 0 else p[s - 1 : s + 2, :].amax(dim=0)  # [2S+1]
            near = float(line[s - 1 : s + 2].max())
            best = int(line.argmax()) - s
            if abs(best) > 1 and near > 0:
                offsets[axis], gains[axis] = best, float(line.max()) / near
        dy, dx = offsets
        gain = max(gains)
        report.scores.update(
            edge_offset_px=float(max(abs(dy), abs(dx))),
            edge_offset_dy=float(dy),
            edge_offset_dx=float(dx),
            edge_offset_gain=gain,
        )
        if any(
            abs(o) > self.max_edge_offset_px and g > self.min_offset_gain
            for o, g in zip(offsets, gains, strict=True)
        ):
            self._flag(
                report,
                EDGE_MISALIGNMENT,
                f"depth edges best match image edges shifted by (dy={dy}, dx={dx}) px"
                f" ({gain:.2f}x better than within 1 px of no shift)",
            )

    def _check_edge_lag(self, grad: torch.Tensor, dep: torch.Tensor, report: FilterReport) -> None:
        """Temporal shift: depth frame ``t + lag`` may not match image frame ``t`` clearly better than lag 0."""
        if self.max_lag == 0:
            return
        lags = edge_lag_contrast(grad, dep, self.edge_search_px, self.max_lag)
        measured = {lag: c for lag, c in lags.items() if c == c}
        if not measured or lags[0] != lags[0]:
            return
        best = max(measured, key=lambda lag: (measured[lag], -abs(lag)))
        lag_gain = measured[best] - lags[0]
        report.scores.update(edge_best_lag=float(best), edge_lag_gain=lag_gain)
        if best != 0 and lag_gain > self.edge_lag_margin:
            self._flag(
                report,
                TEMPORAL_MISALIGNMENT,
                f"depth edges match image edges best at lag {best} frames "
                f"(contrast {measured[best]:.2f} vs {lags[0]:.2f} at lag 0)",
            )

    def _check_temporal(self, rgb: np.ndarray, depth: np.ndarray, report: FilterReport) -> None:
        m_rgb, m_dep = motion_maps(rgb, depth)
        corr = motion_lag_correlation(m_rgb, m_dep, self.max_lag)
        measured = {lag: c for lag, c in corr.items() if c == c}
        at_zero = corr[0]
        report.scores["motion_corr_lag0"] = at_zero
        if not measured or at_zero != at_zero:
            report.scores["motion_best_lag"] = float("nan")
            return
        best = max(measured, key=lambda lag: (measured[lag], -abs(lag)))
        report.scores["motion_best_lag"] = float(best)
        report.scores["motion_corr_best"] = measured[best]
        if best != 0 and measured[best] - at_zero > self.lag_margin:
            self._flag(
                report,
                TEMPORAL_MISALIGNMENT,
                f"depth motion matches RGB motion best at lag {best} frames "
                f"(corr {measured[best]:.2f} vs {at_zero:.2f} at lag 0)",
            )
