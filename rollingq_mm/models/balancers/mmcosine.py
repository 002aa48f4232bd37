"""MMCosine (Xu et al., ICASSP 2023): multi-modal cosine loss."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F

from rollingq_mm.registry import MODELS
from .base import BaseBalancer, KeepMasks


@MODELS.register_module()
class MMCosine(BaseBalancer):
    """Cosine logits per modality, summed with one scale.

    With a fusion linear in each modality (``ConcatFusion``: h_m = modality
    m's pooled tokens, W_m = the head's columns on them; ``SumFusion``:
    h_m = m's projected feature, W_m = the head's weight), the logits are
    ``s · Σ_m cos(h_m, W_m)``: each sample's h_m and each class row of W_m
    L2-normalised separately, no bias. They replace the head's logits in
    training and in inference. Follows GeWu-Lab/MMCosine_ICASSP23,
    ``main_CD.py`` (commit 00ba0a9, lines 109-118).

    Attention fusion mixes the modalities before the head, so its logits
    have no per-modality weight block to normalise: the method is not
    defined for it and refuses to build.

    Deliberate differences from the authors' code: inference uses the
    cosine logits the model was trained with (the authors' ``valid`` scores
    the plain linear head ``W[a; v] + b``, whose bias never trained;
    BalanceBenchmark uses the cosine logits, as here); the supplementary
    NCE term (weight 0 in their code) is left out.

    Args:
        scale (float): s. Defaults to 10 (the authors'; BalanceBenchmark
            uses 15).

    The logits are the model's in training and inference alike, so there is
    no epoch window (BalanceBenchmark's window falls back to the linear
    head's logits in training while validating on the cosine ones).
    """

    replaces_logits = True

    def __init__(self, scale: float = 10.):
        super().__init__()
        if scale <= 0:
            raise ValueError(f'MMCosine: scale must be > 0, got {scale}')
        self.scale = scale

    def bind(self, model) -> None:
        super().bind(model)
        if not model.splits_logits:
            raise ValueError(
                'MMCosine normalises each modality\'s block of a linear '
                'head: it needs ConcatFusion or SumFusion with a '
                f'LinearClsHead, got {type(model.neck).__name__} and '
                f'{type(model.head).__name__}. Attention fusion mixes the '
                'modalities before the head, so there is no per-modality '
                'block; use another method (OGM-GE, AGM, ...) with it')

    def fused_logits(self,
                     model,
                     tokens: Dict[str, torch.Tensor],
                     keep: Optional[KeepMasks] = None) -> torch.Tensor:
        weight = model.head_linear().weight
        logits = 0.
        for name, (feature, columns) in model.neck.linear_terms(
                tokens).items():
            cosine = F.normalize(feature, dim=1) @ F.normalize(
                weight[:, columns], dim=1).t()
            if keep is not None and name in keep:
                cosine = cosine * keep[name].to(cosine.dtype)[:, None]
            logits = logits + cosine
        return self.scale * logits
