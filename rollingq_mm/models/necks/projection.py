"""Per-modality projection to a common token dimension."""
from typing import Dict, Optional

import torch
from torch import nn


class ModalityProjection(nn.Module):
    """A Linear per modality whose input dim differs from ``embed_dims``.

    Args:
        embed_dims (int): Target dimension.
        in_dims (dict[str, int], optional): Input dimension per modality;
            modalities not listed (or already of ``embed_dims``) pass through.
    """

    def __init__(self, embed_dims: int, in_dims: Optional[Dict[str, int]] = None):
        super().__init__()
        self.embed_dims = embed_dims
        self.proj = nn.ModuleDict({
            name: nn.Linear(dim, embed_dims)
            for name, dim in (in_dims or {}).items() if dim != embed_dims
        })

    def forward(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Project modality ``name``'s features [..., D_m] to [..., D]."""
        if name in self.proj:
            return self.proj[name](x)
        if x.shape[-1] != self.embed_dims:
            raise ValueError(
                f'modality {name!r} has dim {x.shape[-1]} but the neck expects '
                f'{self.embed_dims}; add {name}={x.shape[-1]} to the neck\'s '
                'in_dims so that it is projected')
        return x
