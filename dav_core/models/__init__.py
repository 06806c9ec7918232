"""The Depth Any Video models (on diffusers' SVD blocks), their VAE helpers and checkpoint loading."""

from .diffusers_guard import import_diffusers

import_diffusers()  # before the model modules import diffusers; see diffusers_guard
