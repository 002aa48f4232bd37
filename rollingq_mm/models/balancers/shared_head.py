"""One modality at a time through the shared neck and head (MLA,
ReconBoost)."""
from typing import Dict

import torch

from ..necks.static_fusion import ConcatFusion


def check_shared_head(model, owner: str) -> None:
    """Refuse a fusion whose head is not shared by the modalities.

    MLA and ReconBoost train each modality alone through one shared head.
    ``SumFusion`` (identity projections where ``embed_dims`` is the
    encoders' width: the authors' one ``Linear(D, K)``) and
    ``AttentionFusion`` (the fusion layers and head, the other modalities
    left out of the keys) share theirs; ``ConcatFusion`` gives each
    modality its own block of the head, so nothing would be shared.

    Raises:
        ValueError: for ConcatFusion.
    """
    if len(model.aux_heads):
        raise ValueError(
            f'{owner} trains each modality through the shared head, so '
            'aux_heads would never train; remove model.aux_heads')
    if isinstance(model.neck, ConcatFusion):
        raise ValueError(
            f'{owner} trains each modality alone through one shared head; '
            'ConcatFusion gives each modality its own block of the head. Use '
            "neck=dict(type='SumFusion', embed_dims=<encoders' width>) (the "
            "authors' shared Linear) or AttentionFusion")


def modality_alone_logits(model, name: str,
                          tokens: torch.Tensor) -> torch.Tensor:
    """Logits [B, K] of modality ``name`` alone: its tokens [B, N, D]
    through the neck (no other modality present) and the head."""
    fused, _ = model.neck({name: tokens})
    return model.head((fused, ))


def probe_losses(model, tokens: Dict[str, torch.Tensor],
                 data_samples: list) -> Dict[str, torch.Tensor]:
    """The detached probes' losses (``loss_probe_<m>``) of the modalities
    in ``tokens`` [B, N_m, D_m], so that the probes keep measuring each
    modality while a phase trains some of them."""
    pooled = model.pool_modalities(tokens)
    return {
        f'loss_probe_{m}':
        model.probe_heads[m]._get_loss(
            model.probe_heads[m]((pooled[m].detach(), )), data_samples)['loss']
        for m in tokens if m in model.probe_heads
    }
