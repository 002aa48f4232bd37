"""Attention fusion: a CLS token attends over all modalities' tokens."""
from functools import partial
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from rollingq_mm.registry import MODELS
from ..attention import RollingQAttention
from ..records import AttentionRecord
from ..rollingq import RollingQuery
from ..utils import concat_modalities
from .base import XAVIER_INIT, BaseFusion
from .projection import ModalityProjection


class FusionTransformerLayer(nn.Module):
    """Pre-norm Transformer layer (residual + FFN) around an attention.

    Args:
        attn (RollingQAttention): The layer's attention; with its
            ``cls_only`` the layer returns only the CLS token [B, 1, D].
        mlp_ratio (float): FFN width relative to the attention's dims.
        proj_drop (float): Dropout in the FFN.
    """

    def __init__(self, attn: RollingQAttention, mlp_ratio: float,
                 proj_drop: float):
        super().__init__()
        embed_dims = attn.embed_dims
        self.cls_only = attn.cls_only
        self.norm1 = nn.LayerNorm(embed_dims)
        self.attn = attn
        self.norm2 = nn.LayerNorm(embed_dims)
        hidden = int(embed_dims * mlp_ratio)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, hidden), nn.GELU(), nn.Dropout(proj_drop),
            nn.Linear(hidden, embed_dims), nn.Dropout(proj_drop))

    def forward(
        self,
        x: torch.Tensor,
        token_slices: Dict[str, slice],
        key_keep: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, AttentionRecord]:
        out, record = self.attn(self.norm1(x), token_slices, key_keep)
        x = (x[:, :1] if self.cls_only else x) + out
        return x + self.ffn(self.norm2(x)), record


@MODELS.register_module()
class AttentionFusion(BaseFusion):
    """A learnable CLS token attends over the concatenated modality tokens.

    ``num_layers=1`` is the paper's layout: one RollingQAttention, no
    residual, no FFN, no norm; the CLS output is the fused feature.
    ``num_layers > 1`` stacks pre-norm Transformer layers (residual + FFN,
    final LayerNorm), the last one CLS-only; each layer has its own
    RollingQuery, and the hook rotates them progressively (first layer first).

    Args:
        embed_dims (int): Fusion dimension D.
        in_dims (dict[str, int], optional): Token dim of modalities whose
            dim differs from D, for use without a classifier; inside
            :class:`MultimodalClassifier` the projections follow the
            encoders. Defaults to None.
        num_layers (int): Attention layers. Defaults to 1.
        num_heads (int): Heads per layer. Defaults to 1 (the paper).
        attn_drop (float): Attention dropout. Defaults to 0.2 (the paper).
        proj_drop (float): Output dropout. Defaults to 0.2 (the paper).
        mlp_ratio (float): FFN width for ``num_layers > 1``. Defaults to 4.
        cls_only (bool): Compute only the CLS row in the last layer.
            Defaults to True.
        rolling (bool): Give every layer a RollingQuery. Defaults to True.
        fused (bool): SDPA attention; False = the paper's explicit softmax
            (with ``cls_only=False``, the authors' full N×N formulation, for
            benchmarks). Defaults to True.
        init_cfg (dict, optional): mmengine init config. Defaults to the
            authors' xavier-normal / zero-bias Linear init.
    """

    def __init__(self,
                 embed_dims: int,
                 in_dims: Optional[Dict[str, int]] = None,
                 num_layers: int = 1,
                 num_heads: int = 1,
                 attn_drop: float = 0.2,
                 proj_drop: float = 0.2,
                 mlp_ratio: float = 4.,
                 cls_only: bool = True,
                 rolling: bool = True,
                 fused: bool = True,
                 init_cfg: Optional[dict] = XAVIER_INIT):
        super().__init__(None, init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        self.embed_dims = embed_dims
        self.projection = ModalityProjection(embed_dims, in_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        attention = partial(
            RollingQAttention,
            embed_dims,
            num_heads,
            attn_drop=attn_drop,
            proj_drop=proj_drop,
            rolling=rolling,
            fused=fused)
        if num_layers == 1:
            self.layers = nn.ModuleList([attention(cls_only=cls_only)])
            self.norm = nn.Identity()
        else:
            self.layers = nn.ModuleList([
                FusionTransformerLayer(
                    attention(cls_only=cls_only and index == num_layers - 1),
                    mlp_ratio, proj_drop) for index in range(num_layers)
            ])
            self.norm = nn.LayerNorm(embed_dims)

    @property
    def out_channels(self) -> int:
        return self.embed_dims

    def rolling_queries(self) -> list:
        """The RollingQuery of each layer (empty with ``rolling=False``)."""
        return [m for m in self.modules() if isinstance(m, RollingQuery)]

    def forward(
        self,
        tokens: Dict[str, torch.Tensor],
        keep: Optional[Dict[str, torch.Tensor]] = None
    ) -> Tuple[torch.Tensor, AttentionRecord]:
        """Fuse the modalities.

        Args:
            tokens (dict[str, Tensor]): Tokens [B, N_m, D_m] per modality, in
                the config's modality order.
            keep (dict[str, Tensor], optional): Per-sample keep masks [B]
                (0 = the modality is removed from the sample): its tokens
                are masked out of every layer's keys, so the CLS query
                attends over the other modalities (and itself). Defaults to
                None.

        Returns:
            tuple: fused feature [B, D] and the last layer's
            :class:`AttentionRecord` (the CLS query that makes the feature).
        """
        tokens = {name: self.projection(name, x) for name, x in tokens.items()}
        x, token_slices = concat_modalities(tokens, offset=1)
        x = torch.cat(
            [self.cls_token.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        key_keep = None if keep is None else _key_keep(keep, token_slices, x)
        record = None
        for layer in self.layers:
            x, record = layer(x, token_slices, key_keep)
            if key_keep is not None and x.shape[1] == 1:
                key_keep = None  # the CLS-only output has no other keys
        return self.norm(x[:, 0]), record

    def fuse(self, tokens: Dict[str, torch.Tensor],
             keep: Optional[Dict[str, torch.Tensor]]) -> tuple:
        """Fusion with modalities removed per sample by key masking."""
        return self(tokens, keep)


def _key_keep(keep: Dict[str, torch.Tensor], token_slices: Dict[str, slice],
              x: torch.Tensor) -> torch.Tensor:
    """[B, N] bool: False at the tokens of each sample's removed
    modalities (the CLS token at 0 is always kept)."""
    mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    for name, kept in keep.items():
        span = token_slices[name]
        mask[:, span] = (kept > 0).view(-1, 1)
    return mask
