"""Export a checkpoint to a single-file bundle: ``python -m training.export SOURCE OUT.safetensors``.

SOURCE is a training checkpoint (``.../checkpoints/step_XXXXXXX``), its ``model/`` folder, ``final/`` or
any folder ``load_dav`` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dav_core.models.loading import load_dav, save_bundle


def export_bundle(
    source: str | Path,
    out: str | Path,
    processing_resolution: int | None = None,
    interpolation_window: int | None = None,
    vae: str | Path | None = None,
) -> Path:
    """Bundle ``source``, with the VAE folder ``vae`` instead of its own (see :func:`swap_decoder`);
    ``processing_resolution`` (long side the model was trained for) and ``interpolation_window`` (window
    its interpolation UNet runs best with) go in the metadata, where ``--max-resolution 0`` and
    ``--window 0`` find them."""
    source = Path(source)
    if (source / "model" / "unet").is_dir():
        source = source / "model"
    model = load_dav(source)
    if vae is not None:
        swap_decoder(model, vae)
    if processing_resolution is not None:
        if processing_resolution < 64:
            raise ValueError(f"--processing-resolution must be >= 64, got {processing_resolution}")
        model.processing_resolution = processing_resolution
    if interpolation_window is not None:
        if interpolation_window < 3:
            raise ValueError(f"--interpolation-window must be >= 3, got {interpolation_window}")
        model.interpolation_window = interpolation_window
    save_bundle(model, out)
    return Path(out)


def swap_decoder(model, vae_folder: str | Path) -> None:
    """Give ``model`` the VAE of ``vae_folder``, which must have the same encoder (and scaling factor):
    the UNets learned that encoder's latents, so only a retrained decoder may be swapped in."""
    from diffusers import AutoencoderKLTemporalDecoder

    new = AutoencoderKLTemporalDecoder.from_pretrained(vae_folder, torch_dtype=model.vae.dtype)
    old_state, new_state = model.vae.state_dict(), new.state_dict()
    changed = [
        k
        for k in old_state
        if not k.startswith("decoder.") and (k not in new_state or not old_state[k].equal(new_state[k]))
    ]
    if changed or new.config.scaling_factor != model.vae.config.scaling_factor:
        raise ValueError(
            f"--vae {vae_folder}: its encoder differs from the model's ({len(changed)} tensors, e.g. "
            f"{changed[:2]}; scaling factor {new.config.scaling_factor} vs {model.vae.config.scaling_factor}); "
            "only a VAE whose decoder alone was retrained can replace it"
        )
    model.vae = new.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument(
        "--processing-resolution", type=int, default=None, help="long side the model was trained for"
    )
    parser.add_argument(
        "--interpolation-window",
        type=int,
        default=None,
        help="interpolation window (both keyframes included) the model runs best with",
    )
    parser.add_argument(
        "--vae", default=None, help="VAE folder with a retrained decoder (training.finetune_depth_decoder)"
    )
    args = parser.parse_args(argv)
    print(
        export_bundle(args.source, args.out, args.processing_resolution, args.interpolation_window, args.vae)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
