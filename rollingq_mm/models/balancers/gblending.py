"""Gradient-Blending (Wang, Tran & Feiszli, CVPR 2020)."""
import json
import os.path as osp
from typing import Dict, Union

import torch.nn.functional as F

from rollingq_mm.registry import MODELS
from .base import BalanceContext, BaseBalancer
from .unimodal_logits import UnimodalLogits


@MODELS.register_module()
class GBlending(BaseBalancer):
    """Weigh the fused and each unimodal head's loss.

    The loss is ``w_fused·CE(z) + Σ_m w_m·CE(z_m)``, with z_m the unimodal
    heads (``aux_heads``; or each modality's share of a linear fusion's
    logits, as BalanceBenchmark). The weights are the paper's offline
    G-Blend weights ``w_k ∝ ΔG_k / ΔO_k²`` (normalised to sum to 1),
    estimated by ``tools/analysis_tools/gblending_weights.py`` from
    training copies on a held-out part of the *training* split, and given
    here as config values. The official release (facebookresearch/VMZ,
    ``c2/lib/models/loss/loss_creator.py``, ``add_weighted_loss``, commit
    4cc542d) has exactly this fixed-weight loss and no estimation code.

    Deliberate differences: BalanceBenchmark (commit 3f27575) re-estimates
    the weights online every 10 epochs on its validation loader, which for
    CREMA-D is the test split, from copies scored by the fused head, and
    applies them to other logits (the fusion's slices); its trainer is
    never dispatched as shipped (a name mismatch in ``train.py``).

    Args:
        weights (dict[str, float] | str): ``fused`` and one entry per
            modality, or the JSON file the tool wrote (its ``weights``).
        confidence (str): Unimodal logits source, ``'auto'`` (aux heads,
            else the fusion's slices) / ``'aux'`` / ``'fusion'``.
            Defaults to 'auto'.
    """

    def __init__(self,
                 weights: Union[Dict[str, float], str],
                 confidence: str = 'auto'):
        super().__init__()
        if isinstance(weights, str):
            weights = _read_weights(weights)
        if any(w < 0 for w in weights.values()) or 'fused' not in weights:
            raise ValueError('GBlending: weights need a `fused` entry and '
                             f'non-negative values, got {weights}')
        self.weights = dict(weights)
        self.unimodal = UnimodalLogits(confidence, 'GBlending')

    def bind(self, model) -> None:
        super().bind(model)
        self.unimodal.bind(model, allowed=('aux', 'fusion'))
        expected = {'fused', *self.modalities}
        if set(self.weights) != expected:
            raise ValueError(f'GBlending: weights must have exactly the keys '
                             f'{sorted(expected)}, got {sorted(self.weights)}')

    def loss_terms(self, model, context: BalanceContext) -> dict:
        losses = {
            k: v
            for k, v in context.losses.items()
            if not k.startswith('loss_aux_')
        }
        losses['loss'] = self.weights['fused'] * context.losses['loss']
        logits = self.unimodal(model, context)
        for m in self.modalities:
            losses[f'loss_gblend_{m}'] = self.weights[m] * F.cross_entropy(
                logits[m], context.labels)
        return losses


def _read_weights(path: str) -> Dict[str, float]:
    """The ``weights`` that ``gblending_weights.py`` wrote to ``path``."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'GBlending: the weights file {path!r} does not exist; estimate '
            'it first with python tools/analysis_tools/gblending_weights.py '
            '<this config> (it writes there), or give weights=dict(fused=..., '
            '<modality>=...)')
    with open(path) as f:
        report = json.load(f)
    if 'weights' not in report:
        raise KeyError(f'GBlending: {path!r} has no "weights" entry (not '
                       'written by gblending_weights.py?)')
    return {k: float(v) for k, v in report['weights'].items()}
