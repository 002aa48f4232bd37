"""CML (Ma et al., ICML 2023): calibrating multimodal learning."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F

from rollingq_mm.registry import MODELS
from .base import BalanceContext, BaseBalancer


@MODELS.register_module()
class CML(BaseBalancer):
    """Confidence must not rise when a modality is removed.

    Per sample a random order of the M modalities is drawn; input k removes
    the first k of them (k = 0..M-1: a nested chain, all modalities first).
    With ``conf_k, pred_k`` the max softmax probability and the prediction
    of input k, the regulariser sums over the batch, for each pair (k, k+1)
    (one modality fewer)::

        relu((conf_{k+1} - conf_k) · [pred_k = y] - ε)
      + relu((conf_{k+1} - conf_k.detach()) · [pred_k ≠ y][pred_{k+1} ≠ y] - ε)

    — the first term where the fuller input is right, the second (only the
    reduced input's confidence trained) where both are wrong. The fused
    loss becomes the mean of the M inputs' cross-entropies and the
    regulariser is added with ``weight``. Follows QingyangZhang/CML,
    ``miwae/train.py`` (commit 9d2496e, lines 65-86 and 274-308).

    Deliberate differences from the authors' code (tabular multi-view data,
    no audio-visual code): a removed modality is the neck's removal
    (``BaseFusion.fuse``: its feature zeroed for concat / sum fusion — what
    BalanceBenchmark's logit arithmetic amounts to —, its tokens masked out
    of the keys for attention fusion) instead of mean-filling and imputing
    its features with MIWAE; the removed inputs are re-runs of neck + head
    on the same tokens. BalanceBenchmark (commit 3f27575) applies the hinge
    to the batch *sum* of the confidence differences (samples whose
    confidence fell cancel those whose confidence rose) and discards its
    sign mask; here, as the official code, the hinge is per sample.

    Args:
        weight (float): Weight of the regulariser. Defaults to 0.1 (the
            authors' README, ``--beta 10`` used as beta / 100;
            BalanceBenchmark's ``lam``).
        epsilon (float): Margin ε. Defaults to 0 (the authors').
        start_epoch (int): Defaults to 0.
        end_epoch (int, optional): Inclusive. Defaults to None (the run).
    """

    def __init__(self,
                 weight: float = 0.1,
                 epsilon: float = 0.,
                 start_epoch: int = 0,
                 end_epoch: Optional[int] = None):
        super().__init__(start_epoch, end_epoch)
        if weight < 0 or epsilon < 0:
            raise ValueError(f'CML: weight and epsilon must be >= 0, got '
                             f'{weight}, {epsilon}')
        self.weight = weight
        self.epsilon = epsilon

    def draw_chain(self, batch: int,
                   device: torch.device) -> List[Dict[str, torch.Tensor]]:
        """Keep masks of the inputs k = 1..M-1 of each sample's chain
        (torch's generator on ``device``; restored on an exact resume)."""
        ranks = torch.rand(batch, len(self.modalities),
                           device=device).argsort(1).argsort(1)
        return [{
            m: (ranks[:, i] >= k).float()
            for i, m in enumerate(self.modalities)
        } for k in range(1, len(self.modalities))]

    def loss_terms(self, model, context: BalanceContext) -> dict:
        losses = dict(context.losses)
        if not self.active:
            return losses
        labels = context.labels
        logits = [context.fused_logits] + [
            model.fused_logits(context.tokens, keep)
            for keep in self.draw_chain(labels.numel(), labels.device)
        ]
        losses['loss'] = torch.stack(
            [F.cross_entropy(x, labels) for x in logits]).mean()
        losses['loss_cml'] = self.weight * self.regulariser(logits, labels)
        return losses

    def regulariser(self, logits: List[torch.Tensor],
                    labels: torch.Tensor) -> torch.Tensor:
        """The hinge sum over the chain's pairs and the batch."""
        confidences, predictions = [], []
        for x in logits:
            conf, pred = x.softmax(dim=-1).max(dim=-1)
            confidences.append(conf)
            predictions.append(pred)
        total = 0.
        for k in range(len(logits) - 1):
            fuller_right = (predictions[k] == labels).to(confidences[k].dtype)
            both_wrong = ((predictions[k] != labels) &
                          (predictions[k + 1] != labels)).to(fuller_right)
            rise = confidences[k + 1] - confidences[k]
            rise_reduced = confidences[k + 1] - confidences[k].detach()
            total = total + F.relu(rise * fuller_right - self.epsilon).sum() \
                + F.relu(rise_reduced * both_wrong - self.epsilon).sum()
            self.track(violations=(rise > 0).float().mean())
        return total
