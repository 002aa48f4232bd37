"""MLA (Zhang et al., CVPR 2024): multimodal learning with alternating
unimodal adaptation."""
from typing import Dict, Optional

import torch

from rollingq_mm.registry import MODELS
from .base import (BalanceContext, BaseBalancer, KeepMasks, at_least_float32,
                   hand_over_step_context)
from .shared_head import check_shared_head, probe_losses

GATINGS = ('batch', 'sample', 'fixed')


@MODELS.register_module()
class MLA(BaseBalancer):
    """Alternating unimodal steps through one shared head; entropy-gated
    inference.

    Each iteration is one optimiser step per modality, in the model's
    modality order (:class:`BalancedTrainLoop`): modality m's tokens alone
    through the shared neck and head, cross-entropy, backward, step. The
    head is the one the modalities share: ``SumFusion`` with identity
    projections is the authors' single ``Linear(D, K)``; with
    ``AttentionFusion`` the fusion layers and head are shared and the other
    modalities are absent from the keys. Inference combines the modalities'
    logits with entropy gates, w_m = softmax_m(−H_m).

    Follows Cecile-hi/Multimodal-Learning-with-Alternating-Unimodal-
    Adaptation, ``main.py`` (ab6c184): ``train_epoch`` lines 419-476 (audio
    step, then visual with the head audio updated), ``calculate_gating_
    weights`` lines 65-87 (``--dynamic``). Differences (also in
    docs/balance_methods.md):

    * the gradient projection (``GSPlugin``) is dead code there (it looks
      for a parameter named ``module.weight`` in a bare ``Linear``), so the
      official method trains without it: ``projection=False``, the
      default. ``projection=True`` runs the plugin's formula as written
      (P ← P − k kᵀ ⊘ (α + k r), element-wise, then ‖P‖_F = 1; the head's
      weight gradient ← g Pᵀ; α = 0.1^(1 + batch/len), the first step of
      training skipped); BalanceBenchmark adds g Pᵀ to g instead;
    * under the authors' torch 1.8.1 ``zero_grad`` left zero gradients, so
      the audio encoder took a second momentum / weight-decay step during
      the visual step; mmengine's optimiser wrapper sets gradients to None
      (torch >= 2), as BalanceBenchmark's, so it does not;
    * each phase runs its modality's encoder only, after the previous
      phase's step (the authors run both encoders once before the audio
      step; the visual encoder is unchanged by it, so the features are
      the same).

    Args:
        gating (str): ``'batch'`` — the authors' ``--dynamic``: softmax over
            the batch (dim 0), entropy summed over the batch and classes,
            one weight per modality per batch (predictions then depend on
            the batch); ``'sample'`` — BalanceBenchmark's per-sample
            entropies; ``'fixed'`` — ``fixed_weights`` (the authors' run
            without ``--dynamic``: 0.55 audio, 0.45 visual). Defaults to
            'batch'.
        fixed_weights (dict[str, float], optional): Weights per modality
            for ``gating='fixed'``. Defaults to None.
        projection (bool): Run the gradient projection (see above).
            Defaults to False (the official behaviour).
    """

    steps_in_phases = True
    partial_graphs = True
    replaces_logits = True

    def __init__(self,
                 gating: str = 'batch',
                 fixed_weights: Optional[Dict[str, float]] = None,
                 projection: bool = False):
        super().__init__()
        if gating not in GATINGS:
            raise ValueError(f'MLA: gating={gating!r} is not one of {GATINGS}')
        if (gating == 'fixed') != (fixed_weights is not None):
            raise ValueError('MLA: give fixed_weights (e.g. dict(audio=0.55, '
                             "visual=0.45)) exactly when gating='fixed'")
        self.gating = gating
        self.fixed_weights = fixed_weights
        self.projection = projection
        self.modifies_gradients = projection
        self.projector: Optional[torch.Tensor] = None  # P [D, D]
        self.projected_steps = 0  # the authors' exp_count
        self._epoch_length = 1

    def bind(self, model) -> None:
        super().bind(model)
        check_shared_head(model, 'MLA')
        if self.gating == 'fixed' and set(self.fixed_weights) != set(
                self.modalities):
            raise ValueError(f'MLA: fixed_weights must name {self.modalities}'
                             f', got {sorted(self.fixed_weights)}')
        if self.projection:
            linear = model.head_linear()
            if linear is None:
                raise ValueError('MLA(projection=True) projects the gradient '
                                 'of a linear head: use LinearClsHead')
            self.projector = torch.eye(linear.in_features)

    # ----------------------------------------------------------- phases
    def iteration_phases(self):
        return list(self.modalities)

    def before_train_epoch(self, loader, model) -> None:
        self._epoch_length = max(1, len(loader))

    def phase_loss(self, model, inputs: Dict[str, torch.Tensor],
                   data_samples: list) -> dict:
        name = self.phase
        tokens = model.encoders[name](inputs[name])
        fused, _ = model.neck({name: tokens})
        logits = model.head((fused, ))
        losses = {
            f'loss_{name}': model.head._get_loss(logits, data_samples)['loss'],
            **probe_losses(model, {name: tokens}, data_samples)
        }
        self.track(**{f'loss_{name}': losses[f'loss_{name}']})
        if self.projection:
            hand_over_step_context(
                BalanceContext(
                    labels=torch.cat([s.gt_label for s in data_samples]),
                    tokens={name: tokens},
                    pooled={name: fused},
                    fused_logits=logits,
                    losses=losses))
        return losses

    def modify_gradients(self, wrapper, context: BalanceContext) -> None:
        """The authors' GSPlugin.before_update, on the head's weight."""
        first = self.projected_steps == 0
        self.projected_steps += 1
        if first:
            return
        linear = wrapper.balance_model.head_linear()
        feature = at_least_float32(next(iter(context.pooled.values())))
        r = feature.detach().mean(0, keepdim=True)  # [1, D]
        projector = self.projector.to(r)
        batch = self.iteration - self.epoch * self._epoch_length
        alpha = 0.1**(batch / self._epoch_length + 1)
        k = projector @ r.t()  # [D, 1]
        # element-wise: torch.mm(k, r) is [D, D] in the authors' code
        projector = projector - (k @ k.t()) / (alpha + k @ r)
        projector = projector / projector.norm()
        self.projector = projector
        wrapper.unscale_gradients()
        grad = linear.weight.grad
        linear.weight.grad = (at_least_float32(grad) @ projector.t()).to(
            grad.dtype)

    # -------------------------------------------------------- inference
    def fused_logits(self,
                     model,
                     tokens: Dict[str, torch.Tensor],
                     keep: Optional[KeepMasks] = None) -> torch.Tensor:
        logits = {}
        for name in self.modalities:
            fused, _ = model.neck({name: tokens[name]})
            logits[name] = model.head((fused, ))
        gates = self.gates(logits)
        return sum(gates[m].to(logits[m].dtype) * logits[m]
                   for m in self.modalities)

    def gates(self, logits: Dict[str,
                                 torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Each modality's weight: a scalar (batch, fixed) or [B, 1]."""
        if self.gating == 'fixed':
            return {
                m: torch.tensor(float(self.fixed_weights[m]))
                for m in self.modalities
            }
        dim = 0 if self.gating == 'batch' else 1
        entropies = []
        for name in self.modalities:
            log_probs = at_least_float32(logits[name]).log_softmax(dim)
            entropy = -(log_probs.exp() * log_probs)
            entropies.append(entropy.sum() if dim ==
                             0 else entropy.sum(1, keepdim=True))
        weights = torch.stack(entropies).neg().softmax(dim=0)
        return dict(zip(self.modalities, weights))

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        if not self.projection:
            return {}
        return dict(
            projector=self.projector.cpu(),
            projected_steps=self.projected_steps)

    def load_state_dict(self, state: dict) -> None:
        if self.projection and state:
            self.projector = state['projector']
            self.projected_steps = int(state['projected_steps'])
