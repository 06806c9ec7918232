"""OpenGL rasteriser (moderngl, headless EGL; Mesa llvmpipe works without a GPU).

Two colour attachments: display RGB (RGBA8) and *exact* float32 view-space z (R32F), written from the
perspective-correct interpolated camera-frame z of each fragment (z is affine on a triangle, so the
interpolation is exact up to float rounding). Spheres are drawn as ray-cast impostors on a proxy cube, so
their depth and silhouette are the analytic sphere's, not a tessellation's. One light may cast shadows via
a shadow map (orthographic for a directional light, a downward perspective frustum for a point light).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .camera import CameraTrack
from .scene import Primitive, Scene, tessellate, uv_sphere
from .shading import MAX_LIGHTS, RenderResult, env_uniforms
from .textures import get_texture

log = logging.getLogger(__name__)

# proxy cube of the sphere impostors: corner i is (x, y, z) in {-1, 1}^3 with i = 4x' + 2y' + z' (bits of the
# signs); each face is a corner quad split into two triangles
_CUBE_CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32)
_CUBE_FACES = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
_CUBE_TRIANGLES = np.array([t for a, b, c, d in _CUBE_FACES for t in ((a, b, c), (a, c, d))], np.int32)

_COMMON = """
uniform vec3 u_sky_zenith; uniform vec3 u_sky_horizon; uniform vec3 u_ground;
uniform float u_ambient; uniform float u_fog; uniform float u_exposure;
uniform vec3 u_sun_dir; uniform int u_sun_on; uniform vec3 u_sun_color;

vec3 sky_color(vec3 d) {
    float up = pow(clamp(d.y, 0.0, 1.0), 0.6);
    vec3 col = u_sky_horizon * (1.0 - up) + u_sky_zenith * up;
    float down = clamp(-d.y * 4.0, 0.0, 1.0);
    col = col * (1.0 - down) + (u_sky_horizon * 0.5 + u_ground * 0.5) * down;
    if (u_sun_on == 1) {
        float c = clamp(dot(d, -u_sun_dir), 0.0, 1.0);
        col += u_sun_color * (pow(c, 600.0) * 8.0 + pow(c, 12.0) * 0.25);
    }
    return col;
}
vec3 tonemap(vec3 c) { return pow(1.0 - exp(-max(c, vec3(0.0)) * u_exposure), vec3(1.0 / 2.2)); }
"""

_MAIN_VS = """
#version 330
uniform mat4 u_model; uniform mat4 u_mv; uniform mat4 u_proj;
in vec3 in_pos; in vec3 in_normal; in vec2 in_uv; in vec3 in_color;
out vec3 v_world; out vec3 v_normal; out vec2 v_uv; out vec3 v_color; out float v_z; out vec3 v_local;
void main() {
    vec4 c = u_mv * vec4(in_pos, 1.0);
    v_world = (u_model * vec4(in_pos, 1.0)).xyz;
    v_normal = mat3(u_model) * in_normal;
    v_uv = in_uv; v_color = in_color; v_z = c.z; v_local = in_pos;
    gl_Position = u_proj * c;
}
"""

_MAIN_FS = (
    """
#version 330
in vec3 v_world; in vec3 v_normal; in vec2 v_uv; in vec3 v_color; in float v_z; in vec3 v_local;
uniform mat4 u_model; uniform mat4 u_mv; uniform vec2 u_proj_z; uniform float u_near;
uniform int u_sphere; uniform float u_radius; uniform vec3 u_cam_local;
uniform sampler2D u_tex; uniform vec3 u_tint; uniform float u_spec; uniform float u_shin;
uniform vec3 u_cam_pos;
uniform int u_nlights; uniform vec4 u_lpos[4]; uniform vec3 u_lcol[4]; uniform float u_lrange[4]; uniform int u_lshadow[4];
uniform int u_has_shadow; uniform sampler2D u_shadow; uniform sampler2D u_shadow_dyn; uniform int u_has_dyn;
uniform mat4 u_light_vp; uniform float u_shadow_texel;
uniform float u_shadow_offset; uniform int u_shadow_persp; uniform vec3 u_shadow_pos;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
"""
    + _COMMON
    + """
const float PI = 3.14159265358979;
void main() {
    vec3 P; vec3 N; vec2 uv; float z; vec3 vcol;
    if (u_sphere == 1) {
        vec3 o = u_cam_local; vec3 d = v_local - u_cam_local;
        float a = dot(d, d), b = dot(o, d), c = dot(o, o) - u_radius * u_radius;
        float disc = b * b - a * c;
        if (disc < 0.0) discard;
        float sq = sqrt(disc);
        float q = -(b + (b >= 0.0 ? sq : -sq));
        float t0 = q / a, t1 = c / q;
        float tn = min(t0, t1), tf = max(t0, t1);
        float t = tn > 0.0 ? tn : tf;
        if (t <= 0.0) discard;
        vec3 pl = o + t * d;
        z = (u_mv * vec4(pl, 1.0)).z;
        if (z < u_near) discard;
        P = (u_model * vec4(pl, 1.0)).xyz;
        vec3 nl = normalize(pl);
        N = mat3(u_model) * nl;
        uv = vec2((atan(nl.x, nl.z) / (2.0 * PI) + 0.5) * 2.0, acos(clamp(nl.y, -1.0, 1.0)) / PI);
        gl_FragDepth = 0.5 * ((u_proj_z.x * z + u_proj_z.y) / z) + 0.5;
        vcol = vec3(1.0);
    } else {
        P = v_world; N = v_normal; uv = v_uv; z = v_z; vcol = v_color;
        gl_FragDepth = gl_FragCoord.z;
    }
    vec2 gx = dFdx(uv), gy = dFdy(uv);
    if (abs(gx.x) > 0.5) gx.x = 0.0;
    if (abs(gy.x) > 0.5) gy.x = 0.0;
    vec3 albedo = textureGrad(u_tex, uv, gx, gy).rgb * u_tint * vcol;
    vec3 toCam = u_cam_pos - P;
    float dist = length(toCam);
    vec3 V = toCam / dist;
    N = normalize(N);
    if (dot(N, V) < 0.0) N = -N;

    float vis = 1.0;
    if (u_has_shadow == 1) {
        float off = u_shadow_offset * (u_shadow_persp == 1 ? length(P - u_shadow_pos) : 1.0);
        vec4 lp = u_light_vp * vec4(P + N * off, 1.0);
        if (lp.w > 0.0) {
            vec3 sc = lp.xyz / lp.w * 0.5 + 0.5;
            if (all(greaterThan(sc.xy, vec2(0.0))) && all(lessThan(sc.xy, vec2(1.0))) && sc.z < 1.0) {
                float s = 0.0;
                for (int i = -1; i <= 1; i++)
                    for (int j = -1; j <= 1; j++)
                    {
                        vec2 at = sc.xy + vec2(i, j) * u_shadow_texel;
                        float occ = texture(u_shadow, at).r;
                        if (u_has_dyn == 1) occ = min(occ, texture(u_shadow_dyn, at).r);
                        s += (occ + 1e-5 >= sc.z) ? 1.0 : 0.0;
                    }
                vis = s / 9.0;
            }
        }
    }

    float ny = N.y;
    vec3 amb = (u_sky_zenith * 0.4 + u_sky_horizon * 0.6) * (0.5 + 0.5 * ny) + u_ground * (0.5 - 0.5 * ny);
    vec3 col = albedo * amb * u_ambient;
    for (int i = 0; i < u_nlights; i++) {
        vec3 L; float att;
        if (u_lpos[i].w == 0.0) { L = -normalize(u_lpos[i].xyz); att = 1.0; }
        else {
            vec3 dv = u_lpos[i].xyz - P; float dl = length(dv);
            L = dv / max(dl, 1e-6); att = 1.0 / (1.0 + (dl / u_lrange[i]) * (dl / u_lrange[i]));
        }
        float ndl = max(dot(N, L), 0.0);
        vec3 H = normalize(L + V);
        float spec = ndl > 0.0 ? u_spec * pow(max(dot(N, H), 0.0), u_shin) : 0.0;
        float v = u_lshadow[i] == 1 ? vis : 1.0;
        col += (albedo * ndl + vec3(spec)) * u_lcol[i] * (att * v);
    }
    if (u_fog > 0.0) { float f = exp(-u_fog * dist); col = col * f + u_sky_horizon * (1.0 - f); }
    f_color = vec4(tonemap(col), 1.0);
    f_depth = z;
}
"""
)

_SKY_VS = """
#version 330
in vec2 in_pos;
void main() { gl_Position = vec4(in_pos, 0.0, 1.0); }
"""

_SKY_FS = (
    """
#version 330
uniform mat3 u_rot; uniform vec4 u_K; uniform float u_height;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
"""
    + _COMMON
    + """
void main() {
    float u = gl_FragCoord.x - 0.5;
    float v = (u_height - gl_FragCoord.y) - 0.5;
    vec3 dc = vec3((u - u_K.z) / u_K.x, (v - u_K.w) / u_K.y, 1.0);
    f_color = vec4(tonemap(sky_color(normalize(u_rot * dc))), 1.0);
    f_depth = 0.0;
}
"""
)

_SHADOW_VS = """
#version 330
uniform mat4 u_mvp;
in vec3 in_pos;
void main() { gl_Position = u_mvp * vec4(in_pos, 1.0); }
"""

_SHADOW_FS = """
#version 330
void main() { }
"""


def projection_matrix(K: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """OpenCV camera frame (x right, y down, z forward) -> GL clip space, pixel centres matching K."""
    fx, s, cx = K[0, 0], K[0, 1], K[0, 2]
    fy, cy = K[1, 1], K[1, 2]
    a = (far + near) / (far - near)
    b = -2 * far * near / (far - near)
    return np.array(
        [
            [2 * fx / width, 2 * s / width, (2 * cx + 1) / width - 1, 0],
            [0, -2 * fy / height, 1 - (2 * cy + 1) / height, 0],
            [0, 0, a, b],
            [0, 0, 1, 0],
        ]
    )


def _gl_mat(m: np.ndarray) -> bytes:
    return np.ascontiguousarray(np.asarray(m, np.float32).T).tobytes()  # column-major


def _light_view(direction: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """GL-style view matrix (camera looks along -z) at ``eye`` looking along ``direction``."""
    f = direction / np.linalg.norm(direction)
    up = np.array([0.0, 1.0, 0.0]) if abs(f[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    r = np.cross(f, up)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = r, u, -f
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def shadow_matrix(scene: Scene) -> tuple[np.ndarray, bool, np.ndarray, float] | None:
    """(light view-projection, is_perspective, light position, world size of one shadow texel at 1 m)."""
    light = scene.shadow_light
    if light is None:
        return None
    lo, hi = (np.asarray(b, np.float64) for b in scene.bounds)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    if light.kind == "directional":
        d = np.asarray(light.vector, np.float64)
        view = _light_view(d, (lo + hi) / 2)
        pc = corners @ view[:3, :3].T + view[:3, 3]
        x0, x1 = pc[:, 0].min(), pc[:, 0].max()
        y0, y1 = pc[:, 1].min(), pc[:, 1].max()
        n, f = -pc[:, 2].max() - 1.0, -pc[:, 2].min() + 1.0
        proj = np.array(
            [
                [2 / (x1 - x0), 0, 0, -(x1 + x0) / (x1 - x0)],
                [0, 2 / (y1 - y0), 0, -(y1 + y0) / (y1 - y0)],
                [0, 0, -2 / (f - n), -(f + n) / (f - n)],
                [0, 0, 0, 1],
            ]
        )
        return proj @ view, False, np.zeros(3), max(x1 - x0, y1 - y0)
    pos = np.asarray(light.vector, np.float64)
    view = _light_view(np.array([0.0, -1.0, 0.0]), pos)
    fov = math.radians(150)
    f_ = 1 / math.tan(fov / 2)
    near = 0.05
    far = float(np.linalg.norm(corners - pos, axis=1).max()) + 1
    proj = np.array(
        [
            [f_, 0, 0, 0],
            [0, f_, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ]
    )
    return proj @ view, True, pos, 2 * math.tan(fov / 2)


def _has_moving_casters(scene: Scene) -> bool:
    return any(p.cast_shadow and p.motion is not None for p in scene.primitives)


def create_context():
    """Headless OpenGL 3.3+ context through EGL (raises when none can be created)."""
    import moderngl

    return moderngl.create_standalone_context(backend="egl", require=330)


class GLRenderer:
    """moderngl rasteriser. ``render(scene, track) -> RenderResult``."""

    name = "gl"

    def __init__(self, shadow_size: int = 1024, ctx=None):
        import moderngl

        self.mgl = moderngl
        self.ctx = ctx if ctx is not None else create_context()
        info = self.ctx.info
        self.info = f"{info.get('GL_RENDERER', '?')} / {info.get('GL_VERSION', '?')}"
        self.main = self.ctx.program(vertex_shader=_MAIN_VS, fragment_shader=_MAIN_FS)
        self.sky = self.ctx.program(vertex_shader=_SKY_VS, fragment_shader=_SKY_FS)
        self.shadow_prog = self.ctx.program(vertex_shader=_SHADOW_VS, fragment_shader=_SHADOW_FS)
        tri = np.array([[-1, -1], [3, -1], [-1, 3]], np.float32)
        self._sky_vbo = self.ctx.buffer(tri.tobytes())
        self._sky_vao = self.ctx.vertex_array(self.sky, [(self._sky_vbo, "2f", "in_pos")])
        self.shadow_size = shadow_size
        # two shadow maps: static casters (rendered once per clip) and moving casters (every frame)
        self.shadow_tex = self.ctx.depth_texture((shadow_size, shadow_size))
        self.shadow_dyn_tex = self.ctx.depth_texture((shadow_size, shadow_size))
        for tex in (self.shadow_tex, self.shadow_dyn_tex):
            tex.compare_func = ""
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.shadow_fbo = self.ctx.framebuffer(depth_attachment=self.shadow_tex)
        self.shadow_dyn_fbo = self.ctx.framebuffer(depth_attachment=self.shadow_dyn_tex)
        self._textures: dict[str, object] = {}
        self._fbos: dict[tuple[int, int], tuple] = {}
        self._cube_pos = _CUBE_CORNERS
        self._cube_idx = _CUBE_TRIANGLES

    # ------------------------------------------------------------------ resources
    def _texture(self, name: str):
        tex = self._textures.get(name)
        if tex is None:
            img = np.ascontiguousarray(get_texture(name), dtype=np.float32)
            tex = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes(), dtype="f4")
            tex.build_mipmaps()
            tex.filter = (self.mgl.LINEAR_MIPMAP_LINEAR, self.mgl.LINEAR)
            tex.repeat_x = tex.repeat_y = True
            # no anisotropic filtering: llvmpipe's is pathologically slow at grazing angles (seconds/frame)
            self._textures[name] = tex
        return tex

    def _framebuffer(self, height: int, width: int):
        fb = self._fbos.get((height, width))
        if fb is None:
            color = self.ctx.renderbuffer((width, height), 4)
            zbuf = self.ctx.renderbuffer((width, height), 1, dtype="f4")
            depth = self.ctx.depth_renderbuffer((width, height))
            fbo = self.ctx.framebuffer(color_attachments=[color, zbuf], depth_attachment=depth)
            fb = (fbo, color, zbuf, depth)
            self._fbos[(height, width)] = fb
        return fb[0]

    def _upload(self, prim: Primitive):
        """(main vao, shadow vao, buffers) in local coordinates."""
        if prim.kind == "sphere":
            r = prim.size[0]
            pos = self._cube_pos * r
            data = np.concatenate([pos, np.zeros((8, 3)), np.zeros((8, 2)), np.ones((8, 3))], 1).astype(
                np.float32
            )
            idx = self._cube_idx
            sdata, sidx = uv_sphere(r, 24, 12)
        else:
            data, idx = tessellate(prim)
            sdata, sidx = data, idx
        vbo = self.ctx.buffer(np.ascontiguousarray(data).tobytes())
        ibo = self.ctx.buffer(np.ascontiguousarray(idx).tobytes())
        vao = self.ctx.vertex_array(
            self.main,
            [(vbo, "3f 3f 2f 3f", "in_pos", "in_normal", "in_uv", "in_color")],
            index_buffer=ibo,
            index_element_size=4,
        )
        svbo = self.ctx.buffer(np.ascontiguousarray(sdata[:, :3]).tobytes())
        sibo = self.ctx.buffer(np.ascontiguousarray(sidx).tobytes())
        svao = self.ctx.vertex_array(
            self.shadow_prog, [(svbo, "3f", "in_pos")], index_buffer=sibo, index_element_size=4
        )
        return vao, svao, (vbo, ibo, svbo, sibo)

    # ------------------------------------------------------------------ rendering
    def _set(self, prog, name: str, value) -> None:
        if name in prog:
            prog[name].value = value

    def render(self, scene: Scene, track: CameraTrack) -> RenderResult:
        with self.ctx:  # make this renderer's context current (another renderer may have been made since)
            return self._render(scene, track)

    def _render(self, scene: Scene, track: CameraTrack) -> RenderResult:
        H, W = track.height, track.width
        fbo = self._framebuffer(H, W)
        uploads = [self._upload(p) for p in scene.primitives]
        try:
            shadow = shadow_matrix(scene)
            has_dyn = shadow is not None and _has_moving_casters(scene)
            self._set_scene_uniforms(scene, track, shadow, has_dyn)
            if shadow is not None:
                rest_poses = [p.pose for p in scene.primitives]
                self._shadow_pass(self.shadow_fbo, shadow[0], scene, rest_poses, uploads, static=True)
            rgb = np.empty((track.frames, H, W, 3), np.uint8)
            depth = np.empty((track.frames, H, W), np.float32)
            for fi in range(track.frames):
                poses = [p.pose_at(float(track.times[fi])) for p in scene.primitives]
                if has_dyn:
                    self._shadow_pass(self.shadow_dyn_fbo, shadow[0], scene, poses, uploads, static=False)
                self._draw_frame(fbo, scene, poses, uploads, track.c2w[fi])
                rgb[fi], depth[fi] = self._read_frame(fbo, H, W)
        finally:
            self._release(uploads)
        valid = (depth > 0) & (depth <= scene.max_depth)
        depth = np.where(valid, depth, 0.0).astype(np.float32)
        return RenderResult(rgb=rgb, depth=depth, valid=valid)

    def _set_scene_uniforms(self, scene: Scene, track: CameraTrack, shadow, has_dyn: bool) -> None:
        """Uniforms that stay fixed over a clip: environment, camera intrinsics, lights and shadows."""
        env = env_uniforms(scene.env)
        for prog in (self.main, self.sky):
            for k, v in env.items():
                self._set(prog, k, v)
        self._set_camera_uniforms(track)
        self._set_light_uniforms(scene.lights[:MAX_LIGHTS])
        self._set_shadow_uniforms(shadow, has_dyn)
        # texture units: material texture, static casters' and moving casters' shadow maps
        self.main["u_tex"].value = 0
        self.main["u_shadow"].value = 1
        self.main["u_shadow_dyn"].value = 2

    def _set_camera_uniforms(self, track: CameraTrack) -> None:
        """Projection of the main pass; intrinsics with which the sky pass turns pixels into rays."""
        proj = projection_matrix(track.K, track.width, track.height, track.near, track.far)
        self.main["u_proj"].write(_gl_mat(proj))
        self.main["u_proj_z"].value = (float(proj[2, 2]), float(proj[2, 3]))
        self.main["u_near"].value = float(track.near)
        K = track.K
        self.sky["u_height"].value = float(track.height)
        self.sky["u_K"].value = (float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))

    def _set_light_uniforms(self, lights) -> None:
        """Up to MAX_LIGHTS lights as the main pass's uniform arrays (w = 0: directional, 1: point)."""
        self.main["u_nlights"].value = len(lights)
        lpos = np.zeros((MAX_LIGHTS, 4), np.float32)
        lcol = np.zeros((MAX_LIGHTS, 3), np.float32)
        lrange = np.ones(MAX_LIGHTS, np.float32)
        lshadow = np.zeros(MAX_LIGHTS, np.int32)
        for i, light in enumerate(lights):
            lpos[i] = (*light.vector, 0.0 if light.kind == "directional" else 1.0)
            lcol[i] = light.color
            lrange[i] = light.range
            lshadow[i] = 1 if light.cast_shadow else 0
        self.main["u_lpos"].write(lpos.tobytes())
        self.main["u_lcol"].write(lcol.tobytes())
        self.main["u_lrange"].write(lrange.tobytes())
        self.main["u_lshadow"].write(lshadow.tobytes())

    def _set_shadow_uniforms(self, shadow, has_dyn: bool) -> None:
        """Shadow lookup of the main pass from :func:`shadow_matrix`'s result (None: no shadows)."""
        self.main["u_has_shadow"].value = 1 if shadow is not None else 0
        if shadow is not None:
            light_vp, persp, lpos3, extent = shadow
            self.main["u_light_vp"].write(_gl_mat(light_vp))
            self.main["u_shadow_texel"].value = 1.0 / self.shadow_size
            self.main["u_shadow_persp"].value = 1 if persp else 0
            self.main["u_shadow_pos"].value = tuple(map(float, lpos3))
            self.main["u_shadow_offset"].value = float(1.5 * extent / self.shadow_size)
        self.main["u_has_dyn"].value = 1 if has_dyn else 0

    def _shadow_pass(self, target, light_vp: np.ndarray, scene: Scene, poses, uploads, static: bool) -> None:
        """Depth of the static (or the moving) shadow casters at ``poses``, seen from the light, into
        ``target``."""
        ctx, mgl = self.ctx, self.mgl
        target.use()
        target.clear(depth=1.0)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE)
        ctx.polygon_offset = (2.0, 4.0)
        for prim, pose, (_, svao, _) in zip(scene.primitives, poses, uploads, strict=True):
            if prim.cast_shadow and (prim.motion is None) == static:
                self.shadow_prog["u_mvp"].write(_gl_mat(light_vp @ pose))
                svao.render(mgl.TRIANGLES)
        ctx.polygon_offset = (0.0, 0.0)

    def _draw_frame(self, fbo, scene: Scene, poses, uploads, c2w: np.ndarray) -> None:
        """Sky, then every primitive at ``poses``, seen from the camera at ``c2w`` [4,4], into ``fbo``."""
        ctx, mgl = self.ctx, self.mgl
        w2c = np.linalg.inv(c2w)
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        ctx.disable(mgl.DEPTH_TEST)  # sky: no depth test, so no depth writes either
        self.sky["u_rot"].write(np.ascontiguousarray(c2w[:3, :3].astype(np.float32).T).tobytes())
        self._sky_vao.render(mgl.TRIANGLES)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE)
        self.main["u_cam_pos"].value = tuple(map(float, c2w[:3, 3]))
        self.shadow_tex.use(location=1)
        self.shadow_dyn_tex.use(location=2)
        for prim, pose, (vao, _, _) in zip(scene.primitives, poses, uploads, strict=True):
            self._set_primitive_uniforms(prim, pose, w2c, c2w)
            vao.render(mgl.TRIANGLES)

    def _set_primitive_uniforms(
        self, prim: Primitive, pose: np.ndarray, w2c: np.ndarray, c2w: np.ndarray
    ) -> None:
        """Transforms, sphere impostor and material of one primitive at ``pose`` [4,4]; binds its texture."""
        self.main["u_model"].write(_gl_mat(pose))
        self.main["u_mv"].write(_gl_mat(w2c @ pose))
        is_sphere = prim.kind == "sphere"
        self.main["u_sphere"].value = 1 if is_sphere else 0
        if is_sphere:
            self.main["u_radius"].value = float(prim.size[0])
            cam_local = np.linalg.inv(pose) @ np.append(c2w[:3, 3], 1.0)  # [4] camera in the sphere's frame
            self.main["u_cam_local"].value = tuple(map(float, cam_local[:3]))
        mat = prim.material
        self._texture(mat.texture).use(location=0)
        self.main["u_tint"].value = tuple(map(float, mat.tint))
        self.main["u_spec"].value = float(mat.specular)
        self.main["u_shin"].value = float(mat.shininess)

    @staticmethod
    def _read_frame(fbo, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Display RGB [H,W,3] uint8 and view-space z [H,W] float32 of ``fbo``, top row first."""
        col = np.frombuffer(fbo.read(components=3, attachment=0, alignment=1), np.uint8)
        z = np.frombuffer(fbo.read(components=1, attachment=1, dtype="f4", alignment=1), np.float32)
        # GL rows run bottom-up
        return col.reshape(height, width, 3)[::-1], z.reshape(height, width)[::-1]

    @staticmethod
    def _release(uploads) -> None:
        """Free the buffers and vertex arrays made by :meth:`_upload`."""
        for vao, svao, bufs in uploads:
            vao.release()
            svao.release()
            for buf in bufs:
                buf.release()

    def close(self) -> None:
        for tex in self._textures.values():
            tex.release()
        self._textures.clear()
        for fb in self._fbos.values():
            for obj in fb:
                obj.release()
        self._fbos.clear()
        self.ctx.release()
