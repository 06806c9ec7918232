"""The Depth Any Video UNet: SVD's spatio-temporal UNet with RoPE frame positions.

Differences from diffusers' ``UNetSpatioTemporalConditionModel`` (everything else is its code):

- no added time ids (``add_time_proj`` / ``add_embedding`` removed): only the timestep is embedded;
- no learned sinusoidal frame embedding in the spatio-temporal transformers (``time_pos_embed``);
  temporal self-attention applies RoPE to query and key instead, with positions = frame indices;
- ``forward`` takes optional ``position_ids`` [B,F] (default 0..F-1).

The temporal cross-attention of the official model also rotates its query, but it attends to a
single context token, where softmax is exactly 1 whatever the query: that rotation is a no-op and
is not reproduced. The context itself is a zero tensor [B,1,cross_attention_dim] (no CLIP).

The interpolation UNet is the same class with ``in_channels=16``.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionModel
from torch import nn

from .rope import FramePositions, RotaryTemporalAttnProcessor


class _NoFrameEmbedding(nn.Module):
    """Stands in for SVD's learned frame embedding: adds nothing (RoPE carries frame position)."""

    def forward(self, frame_emb: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(frame_emb)


class UNetSpatioTemporalRopeConditionModel(UNetSpatioTemporalConditionModel):
    """SVD UNet conditioned on per-frame latents by channel concatenation, with RoPE over frames.

    Input ``sample`` is [B,F,C_in,h,w]: for the depth UNet C_in = 8 (noisy depth latent 4 + video
    latent 4); for the interpolation UNet C_in = 16 (+ keyframe depth latents 4 + mask 4).
    """

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 8,
        out_channels: int = 4,
        down_block_types: tuple[str, ...] = (
            "CrossAttnDownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
            "DownBlockSpatioTemporal",
        ),
        up_block_types: tuple[str, ...] = (
            "UpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
        ),
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        addition_time_embed_dim: int = 256,
        projection_class_embeddings_input_dim: int = 768,
        layers_per_block: int | tuple[int] = 2,
        cross_attention_dim: int | tuple[int] = 1024,
        transformer_layers_per_block: int | tuple[int, tuple[tuple]] = 1,
        num_attention_heads: int | tuple[int, ...] = (5, 10, 20, 20),
        num_frames: int = 25,
    ):
        super().__init__(
            sample_size=sample_size,
            in_channels=in_channels,
            out_channels=out_channels,
            down_block_types=down_block_types,
            up_block_types=up_block_types,
            block_out_channels=block_out_channels,
            addition_time_embed_dim=addition_time_embed_dim,
            projection_class_embeddings_input_dim=projection_class_embeddings_input_dim,
            layers_per_block=layers_per_block,
            cross_attention_dim=cross_attention_dim,
            transformer_layers_per_block=transformer_layers_per_block,
            num_attention_heads=num_attention_heads,
            num_frames=num_frames,
        )
        del self.add_time_proj, self.add_embedding
        self.frame_positions = FramePositions()
        rope = RotaryTemporalAttnProcessor(self.frame_positions)
        for module in self.modules():
            if isinstance(module, TransformerSpatioTemporalModel):
                module.time_pos_embed = _NoFrameEmbedding()
                for block in module.temporal_transformer_blocks:
                    block.attn1.set_processor(rope)

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float,
        encoder_hidden_states: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the flow velocity.

        Args:
            sample: [B,F,C_in,h,w] noisy depth latents concatenated with the conditioning latents.
            timestep: scalar or [B], sigma x num_train_timesteps.
            encoder_hidden_states: [B,1,cross_attention_dim]; zeros when omitted.
            position_ids: [B,F] frame indices for RoPE; 0..F-1 when omitted.
        Returns:
            [B,F,C_out,h,w] velocity.
        """
        batch_size, num_frames = sample.shape[:2]
        if position_ids is None:
            position_ids = torch.arange(num_frames, device=sample.device).expand(batch_size, num_frames)
        elif position_ids.shape != (batch_size, num_frames):
            raise ValueError(
                f"position_ids must be [B,F]={[batch_size, num_frames]}, got {list(position_ids.shape)}"
            )
        self.frame_positions.set(position_ids.to(sample.device))

        if encoder_hidden_states is None:
            encoder_hidden_states = sample.new_zeros(batch_size, 1, self.config.cross_attention_dim)
        timesteps = torch.as_tensor(timestep, device=sample.device).reshape(-1)  # [1] or [B]
        if timesteps.numel() not in (1, batch_size):
            raise ValueError(f"timestep must be a scalar or [B]={batch_size} values, got {timesteps.numel()}")
        # one timestep for the batch is embedded once: a sample's embedding then does not depend on the
        # batch size (matmul kernels block by row count), which keeps batched windows batch-invariant
        emb = self.time_embedding(self.time_proj(timesteps).to(sample.dtype)).expand(batch_size, -1)  # [B,E]

        sample = sample.flatten(0, 1)  # [B*F,C_in,h,w]
        emb = emb.repeat_interleave(num_frames, dim=0)  # [B*F,E]
        encoder_hidden_states = encoder_hidden_states.repeat_interleave(num_frames, dim=0)  # [B*F,1,D]
        image_only_indicator = sample.new_zeros(batch_size, num_frames)

        # diffusers needs explicit upsample sizes when h, w are not multiples of 2**num_upsamplers
        upsample_by_size = any(dim % 2**self.num_upsamplers for dim in sample.shape[-2:])

        sample = self.conv_in(sample)
        skips = (sample,)
        for block in self.down_blocks:
            kwargs = (
                {"encoder_hidden_states": encoder_hidden_states}
                if getattr(block, "has_cross_attention", False)
                else {}
            )
            sample, res = block(
                hidden_states=sample, temb=emb, image_only_indicator=image_only_indicator, **kwargs
            )
            skips += res

        sample = self.mid_block(
            hidden_states=sample,
            temb=emb,
            encoder_hidden_states=encoder_hidden_states,
            image_only_indicator=image_only_indicator,
        )

        for i, block in enumerate(self.up_blocks):
            res, skips = skips[-len(block.resnets) :], skips[: -len(block.resnets)]
            is_last = i == len(self.up_blocks) - 1
            upsample_size = skips[-1].shape[2:] if upsample_by_size and not is_last else None
            kwargs = (
                {"encoder_hidden_states": encoder_hidden_states}
                if getattr(block, "has_cross_attention", False)
                else {}
            )
            sample = block(
                hidden_states=sample,
                temb=emb,
                res_hidden_states_tuple=res,
                image_only_indicator=image_only_indicator,
                upsample_size=upsample_size,
                **kwargs,
            )

        sample = self.conv_out(self.conv_act(self.conv_norm_out(sample)))
        return sample.unflatten(0, (batch_size, num_frames))  # [B,F,C_out,h,w]
