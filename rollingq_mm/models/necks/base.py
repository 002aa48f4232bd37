"""BaseFusion: the contract every fusion neck fills.

A neck maps ``{modality: tokens [B, N_m, D_m]}`` (the encoders' outputs, in
the config's modality order) to a fused feature [B, D] and, if it attends,
an :class:`~rollingq_mm.models.records.AttentionRecord` of its CLS query
(``None`` for static fusion). :class:`MultimodalClassifier` calls
:meth:`BaseFusion.bind` once, right after building the encoders, so that the
neck knows each modality's token width and whether its token 0 is a CLS
token — before the first iteration, where a mismatch is an error that names
the modality instead of a shape error inside the first forward.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from ..utils import POOL_MODES, check_pool, pool_tokens, resolve_pools

# The authors' initialisation (their ``weight_init``): xavier-normal weights
# and zero biases on every Linear layer. Measured on AV-Digits against torch's
# default (docs/av_digits.md); a config's own ``init_cfg`` replaces it.
XAVIER_INIT = dict(
    type='Xavier', layer='Linear', distribution='normal', bias=0.)


class BaseFusion(BaseModule):
    """Base of the fusion necks.

    Subclasses implement :meth:`forward` and :attr:`out_channels`; they use
    :meth:`pool` to reduce one modality's tokens to [B, D_m] with the pooling
    resolved for it. A fusion whose output is a sum of per-modality terms
    (concatenation, summation) also implements :meth:`modality_logits`, so
    that methods which need each modality's share of the fused logits
    (OGM-GE) ask the neck instead of re-deriving its arithmetic.

    Args:
        pool (str, optional): How static fusion pools a modality's tokens:
            ``'cls'`` (token 0), ``'mean'``, or None: ``'cls'`` where the
            modality's encoder declares a CLS token, else ``'mean'``.
            Defaults to None.
        init_cfg (dict, optional): mmengine init config. Defaults to the
            authors' xavier-normal / zero-bias init of Linear layers.
    """

    #: Whether :meth:`modality_logits` splits the logits (True for fusions
    #: linear in each modality).
    splits_logits = False

    def __init__(self,
                 pool: Optional[str] = None,
                 init_cfg: Optional[dict] = XAVIER_INIT):
        super().__init__(init_cfg)
        self.pool_mode = None if pool is None else check_pool(pool)
        self.in_dims: Dict[str, int] = {}
        self.pools: Dict[str, str] = {}

    @property
    def modalities(self) -> List[str]:
        """The modality names, in fusion order (known after :meth:`bind`)."""
        return list(self.in_dims)

    @property
    def out_channels(self) -> int:
        """Width D of the fused feature."""
        raise NotImplementedError

    def bind(self,
             in_dims: Dict[str, int],
             cls_tokens: Dict[str, bool],
             sources: Optional[Dict[str, str]] = None) -> None:
        """Learn the modalities' token widths and CLS layout.

        Args:
            in_dims (dict[str, int]): Token width D_m per modality, in order.
            cls_tokens (dict[str, bool]): Whether token 0 of each modality
                is a CLS token (the encoder's ``has_cls_token``).
            sources (dict[str, str], optional): A name for each modality's
                encoder, for error messages.

        Raises:
            ValueError: ``pool='cls'`` for a modality without a CLS token.
        """
        self.in_dims = dict(in_dims)
        self.pools = resolve_pools(
            self.pool_mode,
            {name: bool(cls_tokens.get(name, False))
             for name in in_dims}, sources or {},
            f'{type(self).__name__}.pool')
        # Necks that project modalities to a common width hold a
        # ModalityProjection named ``projection``: it follows the encoders.
        projection = getattr(self, 'projection', None)
        if projection is not None:
            projection.bind(in_dims)

    def pool(self, name: str, tokens: torch.Tensor) -> torch.Tensor:
        """Pool modality ``name``'s tokens [B, N, D] to [B, D].

        Without :meth:`bind`, an unset ``pool`` means ``'mean'``.
        """
        return pool_tokens(tokens,
                           self.pools.get(name, self.pool_mode or 'mean'))

    def modality_logits(
            self, tokens: Dict[str, torch.Tensor],
            linear: nn.Linear) -> Optional[Dict[str, torch.Tensor]]:
        """Each modality's part of ``linear(fused)``, or None.

        For a fusion that is linear in each modality's pooled tokens, the
        logits of a linear head split into one term per modality (the bias
        shared equally): ``Σ_m modality_logits[m] == linear(fused)``.

        Args:
            tokens (dict[str, Tensor]): Tokens [B, N_m, D_m] per modality, as
                :meth:`forward` takes them.
            linear (nn.Linear): The head's layer on the fused feature.

        Returns:
            dict[str, Tensor] | None: Logits [B, K] per modality; None (the
            default) for a fusion whose logits do not split by modality
            (attention).
        """
        return None

    def fuse(self, tokens: Dict[str, torch.Tensor],
             keep: Optional[Dict[str, torch.Tensor]]) -> tuple:
        """Fusion with modalities removed per sample.

        A removed modality's tokens are zeroed (for concat / sum fusion the
        imbalance methods' official codes remove a modality by zeroing its
        encoder feature); attention fusion masks them out of the keys.

        Args:
            tokens (dict[str, Tensor]): Tokens [B, N_m, D_m] per modality.
            keep (dict[str, Tensor], optional): Keep masks [B] (1 keep,
                0 remove) for some modalities; None = :meth:`forward`.

        Returns:
            tuple: As :meth:`forward`.
        """
        if keep is None:
            return self(tokens)
        return self({
            name: x if name not in keep else x *
            keep[name].to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
            for name, x in tokens.items()
        })

    def forward(
        self,
        tokens: Dict[str,
                     torch.Tensor]) -> Tuple[torch.Tensor, Optional[object]]:
        """Fuse ``{modality: tokens [B, N_m, D_m]}``.

        Returns:
            tuple: fused feature [B, D] and an ``AttentionRecord`` (or
            None for fusion without attention).
        """
        raise NotImplementedError


__all__ = ['BaseFusion', 'XAVIER_INIT', 'POOL_MODES']
