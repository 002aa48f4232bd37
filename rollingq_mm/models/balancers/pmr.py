"""PMR (Fan et al., CVPR 2023): prototypical modal rebalance."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger

from rollingq_mm.registry import MODELS
from ..utils import eval_mode, preprocessed_batches
from .base import (BalanceContext, BaseBalancer, at_least_float32,
                   sum_over_ranks, true_class_confidence)


@MODELS.register_module()
class PMR(BaseBalancer):
    """Pull the slower modalities toward their class prototypes.

    Before every epoch, each modality's class prototypes ``C_m`` [K, D_m] are
    the class means of its pooled encoder features over the first
    ``fraction`` of the training batches (eval mode, no grad; sums and
    counts all-reduced under DDP), optionally smoothed with ``momentum``.
    Per iteration, with ``sim_m = -‖φ_m - C_m‖`` (Euclidean distance, no
    temperature), the prototype cross-entropy ``CE(sim_m, y)`` is added with
    weight ``alpha`` for every modality whose prototype confidence
    ``Σ_i softmax(sim_m)_i[y_i]`` is below the best one (two modalities: the
    slower one, as the authors' step rule), inside the epoch window. In the
    first ``entropy_epochs`` epochs the dominant modality's prototype
    distribution gets an entropy bonus, ``-entropy_weight · H(softmax(
    sim_dom))``, against its premature convergence.

    Deliberate differences from the authors' code: the entropy regulariser
    is described in the paper but not in their released code, so its form
    and defaults here are ours; prototypes use the classifier's pooling of
    each modality's tokens (the pre-fusion feature, so PMR works with any
    fusion, attention included); for M > 2 every modality below the best
    gets the prototype loss.

    Args:
        alpha (float): Weight of the prototype CE. Defaults to 1.0 (the
            authors' default; their CREMA-D runs use 2.0).
        momentum (float): ``C ← (1-μ)·C_new + μ·C_old``. Defaults to 0 (all
            the authors' commands).
        fraction (float): Share of the training batches for the
            prototypes. Defaults to 0.1 (the authors').
        entropy_weight (float): Defaults to 0.01 (ours; see above).
        entropy_epochs (int): Epochs with the entropy term. Defaults to 5.
        start_epoch (int): Defaults to 0.
        end_epoch (int, optional): Inclusive. Defaults to None (the run).
    """

    def __init__(self,
                 alpha: float = 1.0,
                 momentum: float = 0.,
                 fraction: float = 0.1,
                 entropy_weight: float = 0.01,
                 entropy_epochs: int = 5,
                 start_epoch: int = 0,
                 end_epoch: Optional[int] = None):
        super().__init__(start_epoch, end_epoch)
        if alpha < 0 or entropy_weight < 0 or entropy_epochs < 0:
            raise ValueError('PMR: alpha, entropy_weight and entropy_epochs '
                             'must be >= 0')
        if not 0 <= momentum < 1 or not 0 < fraction <= 1:
            raise ValueError(f'PMR: need 0 <= momentum < 1 and 0 < fraction '
                             f'<= 1, got {momentum}, {fraction}')
        self.alpha = alpha
        self.momentum = momentum
        self.fraction = fraction
        self.entropy_weight = entropy_weight
        self.entropy_epochs = entropy_epochs
        self.prototypes: Dict[str, torch.Tensor] = {}

    # ------------------------------------------------------- prototypes
    @torch.no_grad()
    def before_train_epoch(self, loader, model) -> None:
        batches = max(1, int(self.fraction * len(loader)))
        num_classes = model.head.num_classes
        sums, counts = {}, None
        with eval_mode(model):
            for data in preprocessed_batches(model, loader, batches):
                labels = torch.cat([s.gt_label for s in data['data_samples']])
                pooled = model.pool_modalities(model.encode(data['inputs']))
                one_hot = F.one_hot(labels, num_classes).float()
                for name, feature in pooled.items():
                    total = one_hot.t() @ feature.float()
                    sums[name] = total if name not in sums else \
                        sums[name] + total
                batch_counts = one_hot.sum(0)
                counts = batch_counts if counts is None else \
                    counts + batch_counts
        counts = sum_over_ranks(counts)
        empty = (counts == 0).nonzero().flatten().tolist()
        if empty:
            MMLogger.get_current_instance().warning(
                f'PMR: classes {empty} have no sample in the {batches} '
                'prototype batches; their prototypes stay as before (zero '
                'at first). Raise fraction')
        for name, total in sums.items():
            fresh = sum_over_ranks(total) / counts.clamp_min(1)[:, None]
            old = self.prototypes.get(name)
            if old is not None:
                old = old.to(fresh.device)  # restored on the CPU
                fresh[counts == 0] = old[counts == 0]
                fresh = (1 - self.momentum) * fresh + self.momentum * old
            self.prototypes[name] = fresh

    def state_dict(self) -> dict:
        """The prototypes, which the next epoch's smooth with ``momentum``
        (on the CPU: a checkpoint loads on any device)."""
        return dict(prototypes={
            m: p.cpu()
            for m, p in self.prototypes.items()
        })

    def load_state_dict(self, state: dict) -> None:
        self.prototypes = dict(state.get('prototypes') or {})

    # ----------------------------------------------------------- losses
    def extra_losses(self, model, context: BalanceContext) -> dict:
        if not self.prototypes:
            raise RuntimeError('PMR has no prototypes yet; BalanceHook '
                               'computes them before each epoch')
        for m in self.modalities:  # once after a resume: to the device
            self.prototypes[m] = self.prototypes[m].to(
                context.pooled[m].device)
        similarities = {
            m: -torch.cdist(
                at_least_float32(context.pooled[m]),
                self.prototypes[m].to(at_least_float32(
                    context.pooled[m]).dtype))
            for m in self.modalities
        }
        with torch.no_grad():
            scores = torch.stack([
                true_class_confidence(s, context.labels)
                for s in similarities.values()
            ])
            scores = sum_over_ranks(scores)
        best = scores.max()
        active = float(self.active)
        losses = {}
        for index, (name, sim) in enumerate(similarities.items()):
            weight = self.alpha * active * (scores[index] < best).float()
            losses[f'loss_pmr_{name}'] = weight * F.cross_entropy(
                sim, context.labels)
            self.track(**{
                f'ratio_{name}': scores[index] / best,
                f'weight_{name}': weight
            })
        if self.entropy_weight and self.epoch < self.entropy_epochs:
            dominant = torch.stack([
                (scores == best)[i].float() * _entropy(sim)
                for i, sim in enumerate(similarities.values())
            ]).sum()
            losses['loss_pmr_entropy'] = -self.entropy_weight * dominant
        return losses


def _entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of softmax(logits) over the batch."""
    log_probs = logits.log_softmax(dim=-1)
    return -(log_probs.exp() * log_probs).sum(-1).mean()
