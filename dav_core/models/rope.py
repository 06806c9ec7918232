"""Rotary position encoding (RoPE) over the frame axis of temporal attention.

Depth Any Video replaces SVD's sinusoidal frame embedding with RoPE on the query and key of the
temporal self-attention, with positions = true frame indices. A model trained on short clips can
then denoise sparse keyframes far apart in time. Channel pairs (2i, 2i+1) of each head are rotated
by angle ``position * theta ** (-2i / head_dim)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention


def rotary_tables(
    positions: torch.Tensor, head_dim: int, theta: float = 10000.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables for ``positions`` [B,F]; each is [B,1,F,head_dim/2] in float32.

    Angles are computed in float64 so large frame indices keep their precision.
    """
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even attention head dim, got {head_dim}")
    exponents = torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device) / head_dim
    inv_freq = theta**-exponents  # [D/2]
    angles = positions.to(torch.float64)[:, None, :, None] * inv_freq  # [B,1,F,D/2]
    return angles.cos().float(), angles.sin().float()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent channel pairs of ``x`` [B,heads,F,D] by the tables [B,1,F,D/2]."""
    pairs = x.float().unflatten(-1, (-1, 2))  # [B,heads,F,D/2,2]
    even, odd = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((cos * even - sin * odd, sin * even + cos * odd), dim=-1)
    return rotated.flatten(-2).type_as(x)


class FramePositions:
    """Frame positions of the current UNet call, shared by all temporal attention processors.

    diffusers' spatio-temporal blocks do not pass extra arguments down to attention, so the UNet
    sets the positions here before running its blocks. They stay set after the call so gradient
    checkpointing can recompute the forward pass in backward with the same positions.
    """

    def __init__(self) -> None:
        self.positions: torch.Tensor | None = None  # [B,F]
        self._tables: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def set(self, positions: torch.Tensor) -> None:
        self.positions = positions
        self._tables = {}

    def tables(self, head_dim: int, tokens_per_frame_group: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Tables for temporal attention input [B*S,F,C] (batch-major, S spatial tokens per sample)."""
        if self.positions is None:
            raise RuntimeError("frame positions are not set: call the UNet, not its blocks directly")
        key = (head_dim, tokens_per_frame_group)
        if key not in self._tables:
            cos, sin = rotary_tables(self.positions, head_dim)  # [B,1,F,D/2]
            self._tables[key] = (
                cos.repeat_interleave(tokens_per_frame_group, dim=0),  # [B*S,1,F,D/2]
                sin.repeat_interleave(tokens_per_frame_group, dim=0),
            )
        return self._tables[key]


class RotaryTemporalAttnProcessor:
    """Scaled-dot-product self-attention over frames with RoPE on query and key.

    Input to the temporal self-attention of diffusers' ``TemporalBasicTransformerBlock`` is
    [B*S,F,C]: one sequence of F frames per spatial token.
    """

    def __init__(self, frame_positions: FramePositions) -> None:
        self.frame_positions = frame_positions

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        if encoder_hidden_states is not None or attention_mask is not None:
            raise ValueError("RotaryTemporalAttnProcessor is for unmasked temporal self-attention only")
        batch_tokens, num_frames, _ = hidden_states.shape  # [B*S,F,C]
        positions = self.frame_positions.positions
        if positions is None or positions.shape[-1] != num_frames or batch_tokens % positions.shape[0]:
            raise RuntimeError("frame positions do not match the temporal attention input")

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.unflatten(-1, (attn.heads, -1)).transpose(1, 2)  # [B*S,heads,F,D]

        query, key, value = (
            heads(attn.to_q(hidden_states)),
            heads(attn.to_k(hidden_states)),
            heads(attn.to_v(hidden_states)),
        )
        cos, sin = self.frame_positions.tables(query.shape[-1], batch_tokens // positions.shape[0])
        query, key = apply_rotary(query, cos, sin), apply_rotary(key, cos, sin)
        out = F.scaled_dot_product_attention(query, key, value)  # [B*S,heads,F,D]
        out = out.transpose(1, 2).flatten(2).to(query.dtype)  # [B*S,F,heads*D]
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor
