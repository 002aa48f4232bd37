"""Multi-head attention whose CLS query is rotated by a RollingQuery."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from rollingq_mm.registry import MODELS
from .records import AttentionRecord
from .rollingq import RollingQuery


@MODELS.register_module()
class RollingQAttention(nn.Module):
    """Multi-head self-attention with a RollingQ-rotated CLS query (token 0).

    The CLS query is rotated after W_Q and before the heads split, exactly as
    the paper's ``q ← R q``; keys, values and other queries are untouched.
    With ``cls_only=True`` only the CLS row is computed (one query against all
    keys through ``scaled_dot_product_attention``): O(N) instead of O(N²) and
    the same numbers as row 0 of full attention.

    Args:
        embed_dims (int): Token dimension D (= d of the query).
        num_heads (int): Number of heads; must divide ``embed_dims``.
            Defaults to 1 (the paper).
        qkv_bias (bool): Bias in the Q/K/V projections. Defaults to True.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection. Defaults to 0.
        cls_only (bool): Compute only the CLS output row. Defaults to True.
        rolling (bool): Hold a :class:`RollingQuery`. Defaults to True.
        fused (bool): Use ``scaled_dot_product_attention``; False computes the
            paper's explicit ``softmax(q kᵀ/√d) v`` (a reference for tests and
            benchmarks). Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int = 1,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 cls_only: bool = True,
                 rolling: bool = True,
                 fused: bool = True):
        super().__init__()
        if num_heads < 1 or embed_dims % num_heads:
            raise ValueError(f'num_heads={num_heads} must be >= 1 and divide '
                             f'embed_dims={embed_dims}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.cls_only = cls_only
        self.fused = fused
        self.attn_drop = attn_drop
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, 2 * embed_dims, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.rolling_query = RollingQuery(embed_dims) if rolling else None

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, L, D] -> [B, H, L, D/H]."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads,
                      self.head_dims).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        token_slices: Dict[str, slice],
        key_keep: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, AttentionRecord]:
        """Attend; token 0 is the CLS token whose query is rotated.

        Args:
            x (Tensor): Tokens [B, N, D], CLS first.
            token_slices (dict[str, slice]): Token range of each modality in
                ``x`` (for the record's per-modality statistics).
            key_keep (Tensor, optional): [B, N] bool, False where a token
                must not be attended to (a modality removed from a sample);
                token 0 must be kept. Defaults to None (all attended).

        Returns:
            tuple: ``out`` [B, 1, D] if ``cls_only`` else [B, N, D], and the
            :class:`AttentionRecord` of the rotated CLS queries and the keys
            (its statistics are computed only if someone reads them).
        """
        keys, values = self.kv(x).chunk(2, dim=-1)  # [B, N, D] each
        if self.cls_only:
            q_cls = self.q(x[:, 0])
            q_rest = None
        else:
            queries = self.q(x)
            q_cls, q_rest = queries[:, 0], queries[:, 1:]
        if self.rolling_query is not None:
            q_cls = self.rolling_query(q_cls)
        queries = q_cls.unsqueeze(1)
        if q_rest is not None:
            queries = torch.cat([queries, q_rest], dim=1)

        out = self._attend(
            self._split_heads(queries), self._split_heads(keys),
            self._split_heads(values),
            None if key_keep is None else key_keep[:, None, None, :])
        batch, length = out.shape[0], out.shape[2]
        out = out.transpose(1, 2).reshape(batch, length, self.embed_dims)
        out = self.proj_drop(self.proj(out))
        return out, AttentionRecord(q_cls, keys, token_slices, self.num_heads)

    def _attend(self,
                q: torch.Tensor,
                k: torch.Tensor,
                v: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """softmax(q kᵀ / √d_h) v per head: [B, H, L, D/H]; ``mask``
        [B, 1, 1, N] (True = attend) removes keys."""
        dropout = self.attn_drop if self.training else 0.
        if self.fused:
            return F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout)
        weights = (q * self.head_dims**-0.5) @ k.transpose(-2, -1)
        if mask is not None:
            weights = weights.masked_fill(~mask, float('-inf'))
        weights = F.dropout(weights.softmax(dim=-1), dropout, self.training)
        return weights @ v
