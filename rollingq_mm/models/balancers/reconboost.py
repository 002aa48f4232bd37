"""ReconBoost (Hua et al., ICML 2024): boosting stages over modalities."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rollingq_mm.registry import MODELS
from .base import BaseBalancer, KeepMasks, at_least_float32
from .shared_head import check_shared_head, modality_alone_logits, probe_losses

CORRECTION = 'correction'


@MODELS.register_module()
class ReconBoost(BaseBalancer):
    """Stage-wise modality updates against the detached ensemble, with a
    global correction after every stage.

    Stage s trains modality ``modalities[s mod M]`` alone for
    ``stage_epochs`` epochs, then all of them for ``correction_epochs``
    (the global correction). In a modality's stage the loss per sample is
    ``−((w1 − w2·q_y) / K) · log p_y``, p = softmax of the modality's
    logits through the shared neck and head, q = softmax of the detached
    ensemble of the others, ``boost_rate · Σ_{o≠m} logits_o`` (their
    encoders run without gradient). The correction is the cross-entropy of
    ``boost_rate · Σ_m logits_m`` with gradient through everything,
    ``boost_rate`` a learnable scalar (a parameter of the model:
    ``balancer_parameters.boost_rate``). Inference is that ensemble.

    Follows huacong/ReconBoost ``train.py`` (14ab57a): lines 287-356 (stage
    loss), 369-402 (correction), ``models/dynamic_net.py`` (ensemble,
    ``boost_rate``), ``schedule.py`` (audio on even stages). Differences
    (also in docs/balance_methods.md):

    * the GA term (``alpha · mse(softmax(out.detach()), softmax(pre_out.
      detach()))``, train.py 349) has both inputs detached, so it adds a
      constant and no gradient; it is left out (its only effect there is
      a second train-mode forward of the other encoder, which moves its
      BatchNorm statistics once more per step — here they move once);
    * one optimiser for the run (mmengine's), not a fresh SGD per phase
      per stage (momentum reset at each phase), and the config's schedule
      instead of ×0.1 every 30 stages; BalanceBenchmark also keeps one;
    * the shared head is the model's (the authors' is a 512-256-K MLP),
      and the encoders start as the config says (the authors load
      unimodal checkpoints; ``load_from`` does that here);
    * the stage length is counted in epochs (the authors' 4 + 4;
      BalanceBenchmark's 1 + 1 passes is ``stage_epochs=1,
      correction_epochs=1``).

    Args:
        stage_epochs (int): Epochs of one modality per stage. Defaults to 4.
        correction_epochs (int): Epochs of global correction per stage;
            0 for none. Defaults to 4.
        weight1 (float): w1. Defaults to 5.0.
        weight2 (float): w2. Defaults to 1.0.
        boost_rate (float): The ensemble scale's start value. Defaults to
            1.0 (the authors'; BalanceBenchmark 0.01).
    """

    steps_in_phases = True
    partial_graphs = True
    replaces_logits = True

    def __init__(self,
                 stage_epochs: int = 4,
                 correction_epochs: int = 4,
                 weight1: float = 5.0,
                 weight2: float = 1.0,
                 boost_rate: float = 1.0):
        super().__init__()
        if stage_epochs < 1 or correction_epochs < 0:
            raise ValueError('ReconBoost: need stage_epochs >= 1 and '
                             f'correction_epochs >= 0, got {stage_epochs}, '
                             f'{correction_epochs}')
        self.stage_epochs = stage_epochs
        self.correction_epochs = correction_epochs
        self.weight1 = weight1
        self.weight2 = weight2
        self.initial_boost_rate = boost_rate

    def bind(self, model) -> None:
        super().bind(model)
        check_shared_head(model, 'ReconBoost')
        # a parameter of the model: in its optimiser, DDP and checkpoints
        model.balancer_parameters['boost_rate'] = nn.Parameter(
            torch.tensor(float(self.initial_boost_rate)))

    def phase_of_epoch(self, epoch: int) -> str:
        """The modality trained in ``epoch``, or ``'correction'``."""
        period = self.stage_epochs + self.correction_epochs
        stage, offset = divmod(epoch, period)
        if offset >= self.stage_epochs:
            return CORRECTION
        return self.modalities[stage % len(self.modalities)]

    def iteration_phases(self):
        return [self.phase_of_epoch(self.epoch)]

    def phase_loss(self, model, inputs: Dict[str, torch.Tensor],
                   data_samples: list) -> dict:
        labels = torch.cat([s.gt_label for s in data_samples])
        boost_rate = model.balancer_parameters['boost_rate']
        self.track(boost_rate=boost_rate.detach())
        if self.phase == CORRECTION:
            tokens = model.encode(inputs)
            logits = sum(
                modality_alone_logits(model, m, tokens[m])
                for m in self.modalities)
            return dict(
                loss_correction=F.cross_entropy(boost_rate * logits, labels),
                **probe_losses(model, tokens, data_samples))
        name = self.phase
        with torch.no_grad():  # the others' ensemble, detached
            ensemble = boost_rate * sum(
                modality_alone_logits(model, m, model.encoders[m](inputs[m]))
                for m in self.modalities if m != name)
            others = at_least_float32(ensemble).softmax(-1).gather(
                1, labels[:, None])[:, 0]
        tokens = model.encoders[name](inputs[name])
        logits = modality_alone_logits(model, name, tokens)
        log_probs = at_least_float32(logits).log_softmax(-1).gather(
            1, labels[:, None])[:, 0]
        weight = (self.weight1 - self.weight2 * others) / logits.shape[-1]
        self.track(**{f'ensemble_confidence_{name}': others.mean()})
        return {
            f'loss_boost_{name}': -(weight * log_probs).mean(),
            **probe_losses(model, {name: tokens}, data_samples)
        }

    def fused_logits(self,
                     model,
                     tokens: Dict[str, torch.Tensor],
                     keep: Optional[KeepMasks] = None) -> torch.Tensor:
        logits = sum(
            modality_alone_logits(model, m, tokens[m])
            for m in self.modalities)
        return model.balancer_parameters['boost_rate'] * logits
