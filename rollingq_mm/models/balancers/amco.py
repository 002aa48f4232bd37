"""AMCo (Zhou et al., ICASSP 2023): adaptive mask co-optimisation."""
import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rollingq_mm.registry import MODELS
from .base import (BalanceContext, BaseBalancer, KeepMasks, at_least_float32,
                   sum_over_ranks)


@MODELS.register_module()
class AMCo(BaseBalancer):
    """Mask the dominant modality's class logits, more as the epoch goes.

    With z_m each modality's part of the fused logits (concat / sum fusion
    with a linear head), the prediction is ``linear_star(Σ_m z_m)``, a
    K → K Linear on top (a parameter of the model:
    ``balancer_parameters.amco_star_*``). In training, the logits of each
    *dependent* modality are multiplied by a class mask with
    ``N = ⌊p_t·K⌋`` random zeros, ``p_t = sin(π/2 · min(ε, l_t)/ε)``,
    ``l_t = batch · epoch / 10`` (restarting every epoch); the loss is
    ``CE(linear_star(Σ z_m)) + Σ_m CE(z_m)`` on the masked logits. After
    each step a modality is dependent for the next one when its share of
    one softmax over all modalities' logits, averaged over the batch (and
    the DDP ranks), exceeds σ; every epoch starts with none.

    No official code is released; follows BalanceBenchmark's
    ``AMCo_trainer.py`` and ``BaseClassifier_AMCoModel`` with HEAD's
    semantics (4c1482f: the mask is always applied to the dependent
    modalities; at 3f27575 the masking is skipped whenever a modality is
    dependent, a bug). Differences (docs/balance_methods.md): the mask is
    drawn from torch's generator (BalanceBenchmark: ``np.random.shuffle``);
    inference uses ``linear_star(Σ z_m)`` unmasked; ``linear_star`` starts
    from torch's default Linear init.

    Args:
        sigma (float): σ, the dependence threshold. Defaults to 0.5.
        eps (float): ε, the ramp length in l_t units. Defaults to 0.3.
    """

    replaces_logits = True

    def __init__(self, sigma: float = 0.5, eps: float = 0.3):
        super().__init__()
        if not 0 < sigma < 1 or eps <= 0:
            raise ValueError(f'AMCo: need 0 < sigma < 1 and eps > 0, got '
                             f'{sigma}, {eps}')
        self.sigma = sigma
        self.eps = eps
        # [M] bool (device): which modalities the next step masks
        self.dependent: Optional[torch.Tensor] = None
        self.ramp = 0.  # l_t
        self._epoch_seen = None

    def bind(self, model) -> None:
        super().bind(model)
        if not model.splits_logits:
            raise ValueError(
                'AMCo masks each modality\'s class logits of a linear head: '
                'it needs ConcatFusion or SumFusion with a LinearClsHead (got '
                f'{type(model.neck).__name__}); attention fusion\'s logits do '
                'not split by modality')
        classes = model.head.num_classes
        star = nn.Linear(classes, classes)
        model.balancer_parameters['amco_star_weight'] = star.weight
        model.balancer_parameters['amco_star_bias'] = star.bias

    @staticmethod
    def star(model, logits: torch.Tensor) -> torch.Tensor:
        """linear_star [B, K] -> [B, K]."""
        params = model.balancer_parameters
        return F.linear(logits, params['amco_star_weight'].to(logits.dtype),
                        params['amco_star_bias'].to(logits.dtype))

    def fused_logits(self,
                     model,
                     tokens: Dict[str, torch.Tensor],
                     keep: Optional[KeepMasks] = None) -> torch.Tensor:
        return self.star(model, sum(model.modality_logits(tokens).values()))

    def mask_fraction(self) -> float:
        """p_t of this step."""
        return math.sin(math.pi / 2 * min(self.eps, self.ramp) / self.eps)

    def loss_terms(self, model, context: BalanceContext) -> dict:
        device = context.labels.device
        if self._epoch_seen != self.epoch or self.dependent is None:
            self._epoch_seen = self.epoch  # an epoch starts afresh
            self.dependent = torch.zeros(
                len(self.modalities), dtype=torch.bool, device=device)
            self.ramp = 0.
        self.dependent = self.dependent.to(device)  # after a resume
        logits = model.modality_logits(context.tokens)
        classes = next(iter(logits.values())).shape[-1]
        zeros = int(self.mask_fraction() * classes)
        mask = torch.ones(classes)
        mask[torch.randperm(classes)[:zeros]] = 0
        mask = mask.to(device)
        logits = {
            m: z * torch.where(self.dependent[i], mask, torch.ones_like(mask))
            for i, (m, z) in enumerate(logits.items())
        }
        losses = {k: v for k, v in context.losses.items() if k != 'loss'}
        fused = self.star(model, sum(logits.values()))
        losses['loss'] = F.cross_entropy(fused, context.labels)
        for name, z in logits.items():
            losses[f'loss_amco_{name}'] = F.cross_entropy(z, context.labels)
        # dependence for the next step: each modality's share of one softmax
        with torch.no_grad():
            joint = at_least_float32(torch.cat(list(logits.values()),
                                               1)).softmax(1)
            shares = torch.stack(
                [block.sum() for block in joint.split(classes, dim=1)])
            count = torch.tensor(
                float(len(context.labels)), device=shares.device)
            shares = sum_over_ranks(shares) / sum_over_ranks(count)
        self.dependent = shares > self.sigma  # on the device: no sync
        self.ramp += self.epoch / 10
        for name, share in zip(self.modalities, shares):
            self.track(**{f'share_{name}': share})
        self.track(masked_fraction=torch.tensor(zeros / classes))
        return losses

    def state_dict(self) -> dict:
        return dict(
            dependent=None if self.dependent is None else self.dependent.cpu(),
            ramp=self.ramp,
            epoch=self._epoch_seen)

    def load_state_dict(self, state: dict) -> None:
        self.dependent = state.get('dependent')
        self.ramp = float(state.get('ramp', 0.))
        self._epoch_seen = state.get('epoch')
