"""Static fusion baselines: concatenation and summation of pooled tokens."""
from typing import Dict, Optional, Tuple

import torch
from torch import nn

from rollingq_mm.registry import MODELS
from .base import XAVIER_INIT, BaseFusion
from .projection import ModalityProjection


class LinearFusion(BaseFusion):
    """A fusion whose feature is linear in per-modality terms, so that a
    linear head's logits split into one term per modality (the imbalance
    methods' "unimodal logits": OGM-GE, InfoReg, MMCosine, ...)."""

    splits_logits = True

    def linear_terms(self, tokens: Dict[str, torch.Tensor]
                     ) -> Dict[str, Tuple[torch.Tensor, slice]]:
        """Each modality's term h_m [B, d] and the columns of the head's
        weight that act on it: ``head(fused) = Σ_m h_m W[:, cols_m]ᵀ + b``.
        """
        raise NotImplementedError

    def modality_logits(self, tokens: Dict[str, torch.Tensor],
                        linear: nn.Linear) -> Dict[str, torch.Tensor]:
        """``h_m W[:, cols_m]ᵀ + b / M`` per modality."""
        bias = 0. if linear.bias is None else linear.bias / len(tokens)
        return {
            name: feature @ linear.weight[:, columns].t() + bias
            for name, (feature, columns) in self.linear_terms(tokens).items()
        }


@MODELS.register_module()
class ConcatFusion(LinearFusion):
    """Concatenate each modality's pooled tokens: [B, Σ D_m].

    Args:
        pool (str, optional): ``'cls'``, ``'mean'`` or None (CLS where the
            encoder has one, else mean). Defaults to None.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 pool: Optional[str] = None,
                 init_cfg: Optional[dict] = XAVIER_INIT):
        super().__init__(pool, init_cfg)

    @property
    def out_channels(self) -> int:
        if not self.in_dims:
            raise RuntimeError('ConcatFusion knows its width only after '
                               'bind() (MultimodalClassifier calls it)')
        return sum(self.in_dims.values())

    def forward(self, tokens: Dict[str,
                                   torch.Tensor]) -> Tuple[torch.Tensor, None]:
        """Returns the fused feature [B, Σ D_m] and None (no attention)."""
        pooled = [self.pool(name, x) for name, x in tokens.items()]
        return torch.cat(pooled, dim=-1), None

    def linear_terms(self, tokens: Dict[str, torch.Tensor]
                     ) -> Dict[str, Tuple[torch.Tensor, slice]]:
        """Modality m's pooled tokens [B, D_m] and its columns of the head.
        """
        out, start = {}, 0
        for name, x in tokens.items():
            pooled = self.pool(name, x)
            end = start + pooled.shape[-1]
            out[name] = (pooled, slice(start, end))
            start = end
        return out


@MODELS.register_module()
class SumFusion(LinearFusion):
    """Sum each modality's pooled token, projected to ``embed_dims``.

    Args:
        embed_dims (int): Output dimension D.
        in_dims (dict[str, int], optional): Token dim of modalities whose
            dim differs from D, for use without a classifier; inside
            :class:`MultimodalClassifier` the projections follow the
            encoders. Defaults to None.
        pool (str, optional): ``'cls'``, ``'mean'`` or None (CLS where the
            encoder has one, else mean). Defaults to None.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int,
                 in_dims: Optional[Dict[str, int]] = None,
                 pool: Optional[str] = None,
                 init_cfg: Optional[dict] = XAVIER_INIT):
        super().__init__(pool, init_cfg)
        self.embed_dims = embed_dims
        self.projection = ModalityProjection(embed_dims, in_dims)

    @property
    def out_channels(self) -> int:
        return self.embed_dims

    def forward(self, tokens: Dict[str,
                                   torch.Tensor]) -> Tuple[torch.Tensor, None]:
        """Returns the fused feature [B, D] and None (no attention)."""
        projected = [
            self.projection(name, self.pool(name, x))
            for name, x in tokens.items()
        ]
        return torch.stack(projected).sum(dim=0), None

    def linear_terms(self, tokens: Dict[str, torch.Tensor]
                     ) -> Dict[str, Tuple[torch.Tensor, slice]]:
        """Modality m's projected pooled tokens [B, D] and the head's
        columns (all of them)."""
        return {
            name: (self.projection(name, self.pool(name, x)), slice(None))
            for name, x in tokens.items()
        }
