"""Renderer selection: ``create_renderer("auto" | "gl" | "raycast")``."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

BACKENDS = ("auto", "gl", "raycast")


def gl_unavailable_reason() -> str | None:
    """None when a headless EGL OpenGL 3.3 context can be created here, else why not."""
    try:
        from .render_gl import create_context

        ctx = create_context()
    except Exception as err:  # ImportError (moderngl), EGL/driver errors
        return f"{type(err).__name__}: {err}".strip()
    ctx.release()
    return None


def create_renderer(backend: str = "auto", **kwargs):
    """GL rasteriser or torch ray caster. ``auto`` tries GL and falls back to the ray caster (logged)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend in ("auto", "gl"):
        try:
            from .render_gl import GLRenderer

            renderer = GLRenderer(**kwargs)
        except Exception as err:
            if backend == "gl":
                raise RuntimeError(f"OpenGL (EGL) renderer unavailable: {err}") from err
            log.warning(
                "synthetic renderer: OpenGL/EGL unavailable (%s: %s); falling back to the torch ray caster",
                type(err).__name__,
                err,
            )
        else:
            log.info("synthetic renderer: gl (%s)", renderer.info)
            return renderer
    from .raycast import RaycastRenderer

    renderer = RaycastRenderer(**kwargs)
    log.info("synthetic renderer: raycast (%s)", renderer.info)
    return renderer
