"""Static fusion baselines: concatenation and summation of pooled tokens."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModule

from rollingq_mm.registry import MODELS
from ..utils import check_pool, pool_tokens
from .projection import ModalityProjection


@MODELS.register_module()
class ConcatFusion(BaseModule):
    """Concatenate each modality's pooled token: [B, Σ D_m].

    Args:
        pool (str): ``'cls'`` (first token) or ``'mean'``. Defaults to 'cls'.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, pool: str = 'cls', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.pool = check_pool(pool)

    def forward(self, tokens: Dict[str, torch.Tensor],
                return_stats: bool = False) -> Tuple[torch.Tensor, None]:
        """Returns the fused feature [B, Σ D_m] and None (no attention)."""
        pooled = [pool_tokens(x, self.pool) for x in tokens.values()]
        return torch.cat(pooled, dim=-1), None


@MODELS.register_module()
class SumFusion(BaseModule):
    """Sum each modality's pooled token, projected to ``embed_dims``.

    Args:
        embed_dims (int): Output dimension D.
        in_dims (dict[str, int], optional): Token dim of each modality whose
            dim differs from D (a Linear projects it).
        pool (str): ``'cls'`` or ``'mean'``. Defaults to 'cls'.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int,
                 in_dims: Optional[Dict[str, int]] = None,
                 pool: str = 'cls',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        self.pool = check_pool(pool)
        self.projection = ModalityProjection(embed_dims, in_dims)

    def forward(self, tokens: Dict[str, torch.Tensor],
                return_stats: bool = False) -> Tuple[torch.Tensor, None]:
        """Returns the fused feature [B, D] and None (no attention)."""
        projected = [
            self.projection(name, pool_tokens(x, self.pool))
            for name, x in tokens.items()
        ]
        return torch.stack(projected).sum(dim=0), None
