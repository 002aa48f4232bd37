"""Transformer encoder for feature sequences (e.g. CMU-MOSEI features)."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from rollingq_mm.registry import MODELS


@MODELS.register_module()
class SequenceEncoder(BaseModule):
    """Linear projection + CLS token + positions + pre-norm Transformer layers.

    Its output starts with a learned CLS token (``has_cls_token = True``).

    Args:
        in_channels (int): Feature size F of the input [B, L, F].
        embed_dims (int): Token dimension D. Defaults to 768.
        num_layers (int): Transformer layers. Defaults to 4 (the paper).
        num_heads (int): Attention heads. Defaults to 8.
        max_len (int): Longest sequence (positions). Defaults to 512.
        mlp_ratio (float): FFN width. Defaults to 4.
        dropout (float): Dropout. Defaults to 0.1.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 768,
                 num_layers: int = 4,
                 num_heads: int = 8,
                 max_len: int = 512,
                 mlp_ratio: float = 4.,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.has_cls_token = True
        self.max_len = max_len
        self.input_proj = nn.Linear(in_channels, embed_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, max_len + 1, embed_dims))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            embed_dims,
            num_heads,
            int(embed_dims * mlp_ratio),
            dropout,
            activation='gelu',
            batch_first=True,
            norm_first=True)
        self.layers = nn.TransformerEncoder(
            layer,
            num_layers,
            norm=nn.LayerNorm(embed_dims),
            enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode.

        Args:
            x (Tensor): Features [B, L, F].

        Returns:
            Tensor: Tokens [B, L + 1, D], CLS first.
        """
        if x.dim() != 3 or x.shape[-1] != self.in_channels:
            raise ValueError(
                f'SequenceEncoder expects [B, L, {self.in_channels}]'
                f', got shape {tuple(x.shape)}; set in_channels to '
                'the feature size of this modality')
        if x.shape[1] > self.max_len:
            raise ValueError(f'sequence length {x.shape[1]} exceeds max_len='
                             f'{self.max_len}; raise max_len in the config')
        x = self.input_proj(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed[:, :x.shape[1]]
        return self.layers(x)
