"""Pure-torch ray caster: exact ray/primitive intersection for quads, boxes, spheres and triangle meshes.

It is the fallback when no OpenGL context can be created, and the test oracle for the GL rasteriser.
Rays are generated with camera-frame direction ``(x, y, 1)``, so the ray parameter *is* the z-depth.
Shadows of the shadow-casting light are exact (shadow rays); texture filtering is trilinear with mip levels
chosen from screen-space uv derivatives, like the GPU does.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .camera import CameraTrack, pixel_rays
from .scene import Primitive, Scene, box_face_frames
from .shading import RenderResult, shade, sky_color, to_uint8, tonemap
from .textures import get_texture

INF = float("inf")


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product over the last (xyz) axis; much faster than (a * b).sum(-1) for a size-3 axis."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return torch.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], -1)


class _MeshAccel:
    """Box hierarchy over Morton-ordered triangles: leaves of ``leaf`` triangles, ``branch`` children per
    node, top nodes of ``leaf * branch**(levels-1)`` triangles tested against every ray."""

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        dtype: torch.dtype,
        leaf: int = 8,
        branch: int = 8,
        levels: int = 3,
    ):
        v = vertices.astype(np.float64)
        tri = v[faces]  # [M,3,3]
        cen = tri.mean(1)
        lo, hi = cen.min(0), cen.max(0)
        q = np.clip(((cen - lo) / np.maximum(hi - lo, 1e-9) * 1023).astype(np.int64), 0, 1023)
        code = np.zeros(len(q), np.int64)
        for bit in range(10):  # Morton order keeps nodes spatially compact
            for ax in range(3):
                code |= ((q[:, ax] >> bit) & 1) << (3 * bit + ax)
        order = np.argsort(code, kind="stable")
        self.order = torch.from_numpy(order)
        tri = tri[order]
        m = len(tri)
        top = leaf * branch ** (levels - 1)
        n_top = math.ceil(m / top)
        pad = n_top * top - m
        if pad:  # repeat the last triangle: harmless duplicates
            tri = np.concatenate([tri, np.repeat(tri[-1:], pad, 0)], 0)
        n_leaves = len(tri) // leaf
        self.n_real = m
        self.chunk = leaf
        self.branch = branch
        self.v0 = torch.tensor(tri[:, 0], dtype=dtype).view(n_leaves, leaf, 3)
        self.e1 = torch.tensor(tri[:, 1] - tri[:, 0], dtype=dtype).view(n_leaves, leaf, 3)
        self.e2 = torch.tensor(tri[:, 2] - tri[:, 0], dtype=dtype).view(n_leaves, leaf, 3)
        eps = 1e-6
        self.boxes = []  # per level, top first: (lo [n,3], hi [n,3])
        for k in range(levels - 1, -1, -1):
            size = leaf * branch**k
            tk = tri.reshape(len(tri) // size, size * 3, 3)
            self.boxes.append(
                (torch.tensor(tk.min(1) - eps, dtype=dtype), torch.tensor(tk.max(1) + eps, dtype=dtype))
            )

    @staticmethod
    def _slab(lo, hi, o, inv, tmin: float, tmax):
        t1 = (lo - o) * inv
        t2 = (hi - o) * inv
        tn = torch.minimum(t1, t2).nan_to_num(nan=-INF).amax(-1)
        tf = torch.maximum(t1, t2).nan_to_num(nan=INF).amin(-1)
        return (tn <= tf) & (tf > tmin) & (tn < tmax)

    def _leaf_pairs(self, o, inv, tmin: float, tmax):
        """(leaf index, ray index) pairs whose boxes overlap, walking the hierarchy top-down."""
        lo, hi = self.boxes[0]
        ni, ri = self._slab(lo[:, None], hi[:, None], o[None], inv[None], tmin, tmax[None]).nonzero(
            as_tuple=True
        )
        kids = torch.arange(self.branch)
        for lo, hi in self.boxes[1:]:
            ci = ni[:, None] * self.branch + kids[None]  # [P,B]
            hit = self._slab(lo[ci], hi[ci], o[ri][:, None], inv[ri][:, None], tmin, tmax[ri][:, None])
            pi, kj = hit.nonzero(as_tuple=True)
            ni, ri = ci[pi, kj], ri[pi]
        return ni, ri

    def intersect(self, o: torch.Tensor, d: torch.Tensor, tmin: float, tmax: torch.Tensor):
        """Nearest hit per ray: (t [N] inf on miss, sorted triangle index [N], b1, b2)."""
        n = o.shape[0]
        best_t = torch.full((n,), INF, dtype=o.dtype)
        best_tri = torch.zeros(n, dtype=torch.long)
        best_b = torch.zeros(n, 2, dtype=o.dtype)
        if n == 0:
            return best_t, best_tri, best_b[:, 0], best_b[:, 1]
        inv = 1.0 / d
        ci, ri = self._leaf_pairs(o, inv, tmin, tmax)
        batch = 32768
        for s in range(0, len(ci), batch):
            c, r = ci[s : s + batch], ri[s : s + batch]
            oo, dd = o[r][:, None], d[r][:, None]  # [P,1,3]
            v0, e1, e2 = self.v0[c], self.e1[c], self.e2[c]  # [P,K,3]
            p = _cross(dd, e2)
            det = _dot(e1, p)
            ok = det.abs() > 1e-12
            inv_det = 1.0 / torch.where(ok, det, torch.ones_like(det))
            tv = oo - v0
            b1 = _dot(tv, p) * inv_det
            q = _cross(tv, e1)
            b2 = _dot(dd, q) * inv_det
            t = _dot(e2, q) * inv_det
            good = ok & (b1 >= 0) & (b2 >= 0) & (b1 + b2 <= 1) & (t > tmin)
            t = torch.where(good, t, torch.full_like(t, INF))
            tbest, k = t.min(1)
            tri_idx = c * self.chunk + k
            kk = k[:, None]
            bb = torch.stack([b1.gather(1, kk)[:, 0], b2.gather(1, kk)[:, 0]], -1)
            # scatter-min into per-ray bests (several chunks may hit the same ray)
            best_t.scatter_reduce_(0, r, tbest, reduce="amin")
            win = (tbest == best_t[r]) & torch.isfinite(tbest)
            best_tri[r[win]] = tri_idx[win]  # ties have equal t: any of them is a correct answer
            best_b[r[win]] = bb[win]
        return best_t, best_tri, best_b[:, 0], best_b[:, 1]


class RaycastRenderer:
    """Exact ray caster (CPU torch). ``render(scene, track) -> RenderResult``."""

    name = "raycast"

    def __init__(self, dtype: torch.dtype = torch.float64, shadows: bool = True, threads: int | None = 1):
        self.dtype = dtype
        self.shadows = shadows
        # intra-op threads while rendering (None: leave torch's setting). The tensors are small, so one
        # thread is fastest, and multi-threaded torch CPU kernels can stall badly on a loaded machine.
        self.threads = threads
        self.info = f"torch {torch.__version__} ray caster ({str(dtype).replace('torch.', '')})"
        self._mip_cache: dict[str, list[torch.Tensor]] = {}

    # ------------------------------------------------------------------ intersection
    def _local_rays(self, prim_pose: np.ndarray, o: torch.Tensor, d: torch.Tensor):
        R = torch.tensor(prim_pose[:3, :3], dtype=self.dtype)
        c = torch.tensor(prim_pose[:3, 3], dtype=self.dtype)
        # x_local = R^T (x - c); explicit broadcasting is much faster than a [N,3] @ [3,3] matmul here
        v = o - c
        ol = v[:, 0:1] * R[0] + v[:, 1:2] * R[1] + v[:, 2:3] * R[2]
        dl = d[:, 0:1] * R[0] + d[:, 1:2] * R[1] + d[:, 2:3] * R[2]
        return ol, dl

    @staticmethod
    def _bound(prim: Primitive) -> tuple[np.ndarray, float]:
        """Local bounding sphere (centre, radius)."""
        if prim.kind == "mesh":
            v = prim.mesh.vertices.astype(np.float64)
            c = 0.5 * (v.min(0) + v.max(0))
            return c, float(np.linalg.norm(v - c, axis=1).max()) * 1.0001 + 1e-6
        return np.zeros(3), prim.bounding_radius() * 1.0001 + 1e-6

    def _candidates(
        self, prim: Primitive, pose: np.ndarray, o: torch.Tensor, d: torch.Tensor, tmax: torch.Tensor
    ) -> torch.Tensor:
        """Indices of rays that may hit ``prim`` (ray vs bounding sphere, within tmax)."""
        lc, r = self._bound(prim)
        c = torch.tensor(pose[:3, :3] @ lc + pose[:3, 3], dtype=self.dtype)
        dn = torch.sqrt(_dot(d, d))
        v = c - o
        tc = _dot(v, d) / dn  # distance along the ray to the closest approach
        d2 = _dot(v, v) - tc * tc
        ok = (d2 <= r * r) & (tc >= -r) & (tc - r <= tmax * dn)
        return ok.nonzero(as_tuple=True)[0]

    def _intersect(self, prim: Primitive, accel, o, d, tmin: float, tmax: torch.Tensor):
        """Ray parameter of the nearest hit (inf on miss), rays already in the primitive's local frame."""
        if prim.kind == "quad":
            hx, hy = prim.size
            dz = d[:, 2]
            t = -o[:, 2] / torch.where(dz == 0, torch.full_like(dz, 1e-30), dz)
            p = o + t[:, None] * d
            ok = (t > tmin) & (p[:, 0].abs() <= hx) & (p[:, 1].abs() <= hy)
            return torch.where(ok, t, torch.full_like(t, INF)), None
        if prim.kind == "box":
            h = torch.tensor(prim.size, dtype=self.dtype)
            inv = 1.0 / d
            t1 = (-h - o) * inv
            t2 = (h - o) * inv
            tn = torch.minimum(t1, t2).nan_to_num(nan=-INF).amax(1)
            tf = torch.maximum(t1, t2).nan_to_num(nan=INF).amin(1)
            t = torch.where(tn > tmin, tn, tf)
            ok = (tn <= tf) & (t > tmin)
            return torch.where(ok, t, torch.full_like(t, INF)), None
        if prim.kind == "sphere":
            r = prim.size[0]
            a = _dot(d, d)
            b = _dot(o, d)
            c = _dot(o, o) - r * r
            disc = b * b - a * c
            ok = disc >= 0
            sq = torch.sqrt(torch.clamp(disc, min=0))
            qq = -(b + torch.where(b >= 0, sq, -sq))  # numerically stable roots
            qq = torch.where(qq == 0, torch.full_like(qq, 1e-30), qq)
            ta, tb = qq / a, c / qq
            t_near, t_far = torch.minimum(ta, tb), torch.maximum(ta, tb)
            t = torch.where(t_near > tmin, t_near, t_far)
            ok = ok & (t > tmin)
            return torch.where(ok, t, torch.full_like(t, INF)), None
        if prim.kind == "mesh":
            t, tri, b1, b2 = accel.intersect(o, d, tmin, tmax)
            return t, (tri, b1, b2)
        raise ValueError(prim.kind)

    def _attributes(self, prim: Primitive, accel, o, d, t, extra):
        """Local normal [n,3], uv [n,2], vertex colour [n,3] at hits (rays in local frame)."""
        p = o + t[:, None] * d
        n = p.shape[0]
        ones = torch.ones(n, 3, dtype=self.dtype)
        tile = prim.material.uv_tile
        if prim.kind == "quad":
            hx, hy = prim.size
            normal = torch.zeros(n, 3, dtype=self.dtype)
            normal[:, 2] = 1
            if tile > 0:
                uv = torch.stack([(p[:, 0] + hx) / tile, (p[:, 1] + hy) / tile], -1)
            else:
                uv = torch.stack([(p[:, 0] + hx) / (2 * hx), (p[:, 1] + hy) / (2 * hy)], -1)
            return normal, uv, ones
        if prim.kind == "box":
            h = torch.tensor(prim.size, dtype=self.dtype)
            axis = (p.abs() / h).argmax(1)
            normal = torch.zeros(n, 3, dtype=self.dtype)
            uv = torch.zeros(n, 2, dtype=self.dtype)
            for ax, sign, a_ax, a_s, b_ax, b_s in box_face_frames(tuple(prim.size)):
                m = (axis == ax) & ((p[:, ax] >= 0) == (sign > 0))
                if not m.any():
                    continue
                normal[m, ax] = float(sign)
                a = a_s * p[m, a_ax]
                b = b_s * p[m, b_ax]
                ha, hb = prim.size[a_ax], prim.size[b_ax]
                if tile > 0:
                    uv[m] = torch.stack([(a + ha) / tile, (b + hb) / tile], -1)
                else:
                    uv[m] = torch.stack([(a + ha) / (2 * ha), (b + hb) / (2 * hb)], -1)
            return normal, uv, ones
        if prim.kind == "sphere":
            normal = p / torch.linalg.norm(p, dim=1, keepdim=True)
            u = torch.atan2(normal[:, 0], normal[:, 2]) / (2 * math.pi) + 0.5
            v = torch.acos(torch.clamp(normal[:, 1], -1, 1)) / math.pi
            return normal, torch.stack([u * 2, v], -1), ones
        if prim.kind == "mesh":
            tri, b1, b2 = extra
            faces = torch.from_numpy(prim.mesh.faces.astype(np.int64))[
                accel.order[tri.clamp(max=accel.n_real - 1)]
            ]
            w0 = (1 - b1 - b2)[:, None]
            w1, w2 = b1[:, None], b2[:, None]

            def interp(attr: np.ndarray) -> torch.Tensor:
                a = torch.tensor(attr, dtype=self.dtype)
                return a[faces[:, 0]] * w0 + a[faces[:, 1]] * w1 + a[faces[:, 2]] * w2

            normal = interp(prim.mesh.normals)
            normal = normal / torch.linalg.norm(normal, dim=1, keepdim=True).clamp(min=1e-9)
            return normal, interp(prim.mesh.uvs), interp(prim.mesh.colors)
        raise ValueError(prim.kind)

    def _accels(self, scene: Scene):
        return [
            (_MeshAccel(p.mesh.vertices, p.mesh.faces, self.dtype) if p.kind == "mesh" else None)
            for p in scene.primitives
        ]

    def trace(
        self,
        scene: Scene,
        poses: list[np.ndarray],
        accels,
        o,
        d,
        tmin: float,
        tmax: torch.Tensor,
        mesh_hits: dict | None = None,
    ):
        """Nearest hit over all primitives: (t [N], primitive id [N] (-1 miss)).

        ``mesh_hits`` (optional dict) receives, per mesh primitive index, full-size (triangle, b1, b2) tensors.
        """
        n = o.shape[0]
        best = torch.full((n,), INF, dtype=self.dtype)
        best_id = torch.full((n,), -1, dtype=torch.long)
        for i, prim in enumerate(scene.primitives):
            lim = torch.minimum(best, tmax)
            idx = self._candidates(prim, poses[i], o, d, lim)
            if len(idx) == 0:
                continue
            ol, dl = self._local_rays(poses[i], o[idx], d[idx])
            t, extra = self._intersect(prim, accels[i], ol, dl, tmin, lim[idx])
            better = t < lim[idx]
            sel = idx[better]
            best[sel] = t[better]
            best_id[sel] = i
            if extra is not None and mesh_hits is not None:
                tri = torch.zeros(n, dtype=torch.long)
                b1 = torch.zeros(n, dtype=self.dtype)
                b2 = torch.zeros(n, dtype=self.dtype)
                tri[sel], b1[sel], b2[sel] = extra[0][better], extra[1][better], extra[2][better]
                mesh_hits[i] = (tri, b1, b2)
        return best, best_id

    def occluded(self, scene: Scene, poses, accels, o, d, tmax: torch.Tensor) -> torch.Tensor:
        """Any-hit test of shadow rays in (tmin, tmax)."""
        occ = torch.zeros(o.shape[0], dtype=torch.bool)
        for i, prim in enumerate(scene.primitives):
            if not prim.cast_shadow:
                continue
            idx = self._candidates(prim, poses[i], o, d, tmax)
            if len(idx) == 0:
                continue
            idx = idx[~occ[idx]]
            if len(idx) == 0:
                continue
            ol, dl = self._local_rays(poses[i], o[idx], d[idx])
            t, _ = self._intersect(prim, accels[i], ol, dl, 1e-4, tmax[idx])
            occ[idx[t < tmax[idx]]] = True
        return occ

    # ------------------------------------------------------------------ textures
    def _mips(self, name: str) -> list[torch.Tensor]:
        if name not in self._mip_cache:
            tex = torch.tensor(np.asarray(get_texture(name)), dtype=self.dtype)
            levels = [tex]
            while levels[-1].shape[0] > 1:
                t = levels[-1]
                levels.append(0.25 * (t[0::2, 0::2] + t[1::2, 0::2] + t[0::2, 1::2] + t[1::2, 1::2]))
            self._mip_cache[name] = levels
        return self._mip_cache[name]

    @staticmethod
    def _bilinear(tex: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
        s = tex.shape[0]
        x = uv[:, 0] * s - 0.5
        y = uv[:, 1] * s - 0.5
        x0, y0 = torch.floor(x), torch.floor(y)
        fx, fy = (x - x0)[:, None], (y - y0)[:, None]
        x0 = x0.long() % s
        y0 = y0.long() % s
        x1, y1 = (x0 + 1) % s, (y0 + 1) % s
        return (tex[y0, x0] * (1 - fx) + tex[y0, x1] * fx) * (1 - fy) + (
            tex[y1, x0] * (1 - fx) + tex[y1, x1] * fx
        ) * fy

    def sample(self, name: str, uv: torch.Tensor, lod: torch.Tensor) -> torch.Tensor:
        mips = self._mips(name)
        lod = lod.clamp(0, len(mips) - 1)
        l0 = torch.floor(lod).long()
        f = (lod - l0)[:, None]
        out = torch.zeros(uv.shape[0], 3, dtype=self.dtype)
        for lv in torch.unique(l0).tolist():
            m = l0 == lv
            a = self._bilinear(mips[lv], uv[m])
            b = self._bilinear(mips[min(lv + 1, len(mips) - 1)], uv[m])
            out[m] = a * (1 - f[m]) + b * f[m]
        return out

    @staticmethod
    def _uv_footprint(uv_img: torch.Tensor, pid_img: torch.Tensor, axis: int) -> torch.Tensor:
        """Largest uv step [H,W] to a pixel's neighbours along image ``axis`` (0: rows, 1: columns),
        counting only neighbours on the same primitive."""
        foot = torch.zeros(pid_img.shape, dtype=uv_img.dtype)
        n = pid_img.shape[axis]
        if n > 1:
            g = (uv_img.narrow(axis, 1, n - 1) - uv_img.narrow(axis, 0, n - 1)).abs().amax(-1)
            same = pid_img.narrow(axis, 1, n - 1) == pid_img.narrow(axis, 0, n - 1)
            g = torch.where(same, g, torch.zeros_like(g))
            before, after = foot.narrow(axis, 0, n - 1), foot.narrow(axis, 1, n - 1)  # views of foot
            before.copy_(torch.maximum(before, g))
            after.copy_(torch.maximum(after, g))
        return foot

    @classmethod
    def _mip_lod(cls, uv: torch.Tensor, pid: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Mip level [N] of every pixel from its screen-space uv derivatives (uv [N,2], pid [N])."""
        uv_img = uv.view(height, width, 2)
        pid_img = pid.view(height, width)
        dx = cls._uv_footprint(uv_img, pid_img, 1)
        dy = cls._uv_footprint(uv_img, pid_img, 0)
        foot = torch.maximum(dx, dy).clamp(max=0.5)  # sphere seams wrap by 1
        return torch.log2((foot * 256).clamp(min=1e-6)).clamp(min=0).view(-1)

    def _materials(self, scene: Scene, pid: torch.Tensor, uv: torch.Tensor, lod: torch.Tensor):
        """Textured albedo [n,3], specular [n] and shininess [n] at hit points of primitives ``pid`` [n]."""
        dt = self.dtype
        albedo = torch.zeros(len(pid), 3, dtype=dt)
        spec = torch.zeros(len(pid), dtype=dt)
        shin = torch.ones(len(pid), dtype=dt)
        for i in torch.unique(pid).tolist():
            m = pid == i
            mat = scene.primitives[i].material
            albedo[m] = self.sample(mat.texture, uv[m], lod[m]) * torch.tensor(mat.tint, dtype=dt)
            spec[m] = mat.specular
            shin[m] = mat.shininess
        return albedo, spec, shin

    # ------------------------------------------------------------------ frames
    def _camera_rays(self, track: CameraTrack, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """World origins and directions [H*W,3] of the pixel rays of frame ``index`` (camera z = 1)."""
        c2w = track.c2w[index]
        dirs_cam = torch.tensor(
            pixel_rays(track.K, track.height, track.width).reshape(-1, 3), dtype=self.dtype
        )
        R = torch.tensor(c2w[:3, :3], dtype=self.dtype)
        eye = torch.tensor(c2w[:3, 3], dtype=self.dtype)
        d = dirs_cam @ R.T
        return eye.expand_as(d), d

    def _surfaces(self, scene: Scene, poses, accels, o, d, t, pid, mesh_hits: dict):
        """World normal [N,3], uv [N,2] and vertex colour [N,3] of every ray's hit (defaults on misses)."""
        n = d.shape[0]
        normal = torch.zeros(n, 3, dtype=self.dtype)
        uv = torch.zeros(n, 2, dtype=self.dtype)
        vcol = torch.ones(n, 3, dtype=self.dtype)
        for i in torch.unique(pid[pid >= 0]).tolist():
            m = pid == i
            prim = scene.primitives[i]
            ol, dl = self._local_rays(poses[i], o[m], d[m])
            extra = tuple(x[m] for x in mesh_hits[i]) if prim.kind == "mesh" else None
            nl, uvl, cl = self._attributes(prim, accels[i], ol, dl, t[m], extra)
            normal[m] = nl @ torch.tensor(poses[i][:3, :3], dtype=self.dtype).T
            uv[m] = uvl
            vcol[m] = cl
        return normal, uv, vcol

    def _light_rays(self, light, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit directions [n,3] from points ``pos`` [n,3] towards ``light`` and the distances [n] to it."""
        if light.kind == "directional":
            L = -torch.tensor(light.vector, dtype=self.dtype)
            L = (L / torch.linalg.norm(L)).expand_as(pos).contiguous()
            return L, torch.full((len(pos),), 1e4, dtype=self.dtype)
        dv = torch.tensor(light.vector, dtype=self.dtype) - pos
        smax = torch.linalg.norm(dv, dim=1)
        return dv / smax[:, None], smax

    def _light_visibility(self, scene: Scene, poses, accels, pos, nrm) -> torch.Tensor | None:
        """1 where the shadow-casting light reaches the points ``pos`` [n,3] (normals ``nrm``), else 0;
        None without shadows."""
        light = scene.shadow_light
        if light is None or not self.shadows:
            return None
        L, smax = self._light_rays(light, pos)
        shadow = torch.zeros(len(pos), dtype=self.dtype)
        f = (_dot(nrm, L) > 0).nonzero(as_tuple=True)[0]  # points facing the light
        if len(f):
            origin = pos[f] + nrm[f] * 2e-3
            occ = self.occluded(scene, poses, accels, origin, L[f], smax[f])
            shadow[f] = (~occ).to(self.dtype)
        return shadow

    def render_frame(
        self, scene: Scene, track: CameraTrack, index: int, accels=None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame ``index``: RGB [H,W,3] uint8, depth [H,W] float32 (0 where invalid), valid [H,W] bool."""
        accels = accels if accels is not None else self._accels(scene)
        H, W = track.height, track.width
        poses = [p.pose_at(float(track.times[index])) for p in scene.primitives]
        o, d = self._camera_rays(track, index)
        tmax = torch.full((d.shape[0],), float(track.far), dtype=self.dtype)
        mesh_hits: dict = {}
        t, pid = self.trace(scene, poses, accels, o, d, float(track.near), tmax, mesh_hits)
        hit = pid >= 0
        unit = d / torch.linalg.norm(d, dim=1, keepdim=True)
        color = sky_color(scene.env, unit)  # [N,3] linear
        if hit.any():
            normal, uv, vcol = self._surfaces(scene, poses, accels, o, d, t, pid, mesh_hits)
            lod = self._mip_lod(uv, pid, H, W)
            hi = hit.nonzero(as_tuple=True)[0]
            albedo, spec, shin = self._materials(scene, pid[hi], uv[hi], lod[hi])
            pos = o[hi] + t[hi, None] * d[hi]
            view = -unit[hi]
            nrm = normal[hi]
            nrm = nrm / torch.linalg.norm(nrm, dim=1, keepdim=True).clamp(min=1e-9)
            nrm = torch.where((_dot(nrm, view) < 0)[:, None], -nrm, nrm)
            dist = t[hi] * torch.linalg.norm(d[hi], dim=1)
            shadow = self._light_visibility(scene, poses, accels, pos, nrm)
            color[hi] = shade(scene, albedo * vcol[hi], nrm, pos, view, dist, spec, shin, shadow)

        rgb = to_uint8(tonemap(color, scene.env.exposure)).view(H, W, 3).numpy()
        valid = (hit & (t <= scene.max_depth)).view(H, W)
        depth = torch.where(valid, t.view(H, W), torch.zeros(H, W, dtype=t.dtype))
        return rgb, depth.to(torch.float32).numpy(), valid.numpy()

    def render(self, scene: Scene, track: CameraTrack) -> RenderResult:
        saved = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            accels = self._accels(scene)
            frames = [self.render_frame(scene, track, i, accels) for i in range(track.frames)]
        finally:
            torch.set_num_threads(saved)
        return RenderResult(
            rgb=np.stack([f[0] for f in frames]),
            depth=np.stack([f[1] for f in frames]),
            valid=np.stack([f[2] for f in frames]),
        )

    def close(self) -> None:
        self._mip_cache.clear()
