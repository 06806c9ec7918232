"""Writes a small synthetic H.264 clip (moving gradient and box) for the ComfyUI engine test.

    python tests/comfy_engine/make_clip.py OUT.mp4 FRAMES HEIGHT WIDTH FPS
"""

import sys

import av
import numpy as np


def main(path: str, frames: int, height: int, width: int, fps: int) -> None:
    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "12"}
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        for i in range(frames):
            image = np.stack([xs / width, ys / height, np.full_like(xs, 0.3)], axis=-1) * 200
            x0 = (i * 3) % max(1, width - 16)
            image[height // 3 : height // 3 + 16, x0 : x0 + 16] = (250, 40, 40)
            frame = av.VideoFrame.from_ndarray(image.clip(0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:6]))
