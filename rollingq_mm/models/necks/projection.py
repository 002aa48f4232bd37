"""Per-modality projection to a common token dimension."""
from typing import Dict, Optional

import torch
from torch import nn


class ModalityProjection(nn.Module):
    """A Linear per modality whose input dim differs from ``embed_dims``.

    Args:
        embed_dims (int): Target dimension.
        in_dims (dict[str, int], optional): Input dimension per modality;
            modalities not listed (or already of ``embed_dims``) pass
            through. :meth:`bind` adds the projections the encoders need.
    """

    def __init__(self,
                 embed_dims: int,
                 in_dims: Optional[Dict[str, int]] = None):
        super().__init__()
        self.embed_dims = embed_dims
        self.in_dims = dict(in_dims or {})
        self.proj = nn.ModuleDict({
            name: nn.Linear(dim, embed_dims)
            for name, dim in self.in_dims.items() if dim != embed_dims
        })

    def bind(self, in_dims: Dict[str, int]) -> None:
        """Check the configured dims against the encoders' and add any
        projection that is missing (before the weights are initialised)."""
        for name, dim in in_dims.items():
            configured = self.in_dims.get(name, dim)
            if configured != dim:
                raise ValueError(
                    f'modality {name!r}: the neck\'s in_dims says {configured}'
                    f' but its encoder gives tokens of width {dim}; drop '
                    'in_dims (it follows the encoders) or fix it')
            if dim != self.embed_dims and name not in self.proj:
                self.proj[name] = nn.Linear(dim, self.embed_dims)
            self.in_dims[name] = dim

    def forward(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Project modality ``name``'s features [..., D_m] to [..., D]."""
        if name in self.proj:
            return self.proj[name](x)
        if x.shape[-1] != self.embed_dims:
            raise ValueError(
                f'modality {name!r} has dim {x.shape[-1]} but the neck '
                f'expects {self.embed_dims}; add {name}={x.shape[-1]} to the '
                "neck's in_dims so that it is projected")
        return x
