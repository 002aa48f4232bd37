"""MMPareto (Wei & Hu, ICML 2024): Pareto integration of unimodal and
multimodal gradients."""
from typing import Dict

import torch

from rollingq_mm.registry import MODELS
from .base import (BalanceContext, BaseBalancer, at_least_float32,
                   mean_over_ranks)


def pareto_weight(g_mm: torch.Tensor, g_uni: torch.Tensor) -> torch.Tensor:
    """The weight w of g_mm in the min-norm point of {w·g_mm + (1-w)·g_uni}.

    The two-vector closed form (Sener & Koltun, 2018):
    ``w = <g_u - g_mm, g_u> / ‖g_mm - g_u‖²``, clamped to [0.001, 0.999] as
    the authors' solver does.
    """
    v11, v12, v22 = g_mm @ g_mm, g_mm @ g_uni, g_uni @ g_uni
    weight = (v22 - v12) / (v11 + v22 - 2 * v12).clamp_min(1e-20)
    return weight.clamp(0.001, 0.999)


@MODELS.register_module()
class MMPareto(BaseBalancer):
    """Combine each encoder's multimodal and unimodal gradients Pareto-style.

    Needs non-detached unimodal heads (``aux_heads``): ``L_m`` is modality
    m's aux loss, ``L_mm`` the fused loss. Per iteration and encoder m, the
    gradients ``g_mm`` of ``L_mm`` and ``g_u`` of ``L_m`` on the encoder's
    parameters are taken with ``torch.autograd.grad`` (averaged over DDP
    ranks). If ``cos(g_mm, g_u) > 0`` the weights are ½, ½; otherwise the
    min-norm weights of the two (:func:`pareto_weight`). Each parameter
    tensor's gradient becomes ``g_new = 2·(w·g_mm + (1-w)·g_u)``, rescaled
    to ``‖g_sum‖`` when that is larger (``g_sum`` = its gradient of the whole
    loss) and multiplied by ``gamma``. Heads, fusion and everything outside
    the encoders keep the plain gradient of the summed loss.

    Deliberate differences from the authors' code: per-encoder gradients
    come from ``autograd.grad`` (two partial backward passes, not three full
    ones with zeroing, and safe under DDP, whose reducer only runs in the
    real backward); any number of modalities works, each encoder being its
    own two-loss problem.

    Args:
        gamma (float): The magnitude factor γ. Defaults to 1.5 (the
            authors' hard-coded value).
        start_epoch (int): Defaults to 0.
        end_epoch (int, optional): Inclusive. Defaults to None (the run).
    """

    modifies_gradients = True
    retains_graph = True  # one gradient per loss term, then backward

    def __init__(self,
                 gamma: float = 1.5,
                 start_epoch: int = 0,
                 end_epoch=None):
        super().__init__(start_epoch, end_epoch)
        if gamma <= 0:
            raise ValueError(f'MMPareto: gamma must be > 0, got {gamma}')
        self.gamma = gamma
        self._params: Dict[str, list] = {}
        self._grads: Dict[str, tuple] = {}

    def bind(self, model) -> None:
        super().bind(model)
        missing = [m for m in self.modalities if m not in model.aux_heads]
        if missing:
            raise ValueError(
                f'MMPareto needs unimodal heads on the encoders: the model '
                f'has no aux_heads for {missing}; set model.aux_heads=dict('
                "type='LinearClsHead', num_classes=...)")
        self._params = {
            m: [p for p in model.encoders[m].parameters() if p.requires_grad]
            for m in self.modalities
        }

    def before_backward(self, wrapper, context: BalanceContext) -> None:
        """g_mm and g_u of every encoder, from the (scaled) losses."""
        self._grads = {}
        if not self.active:
            return
        losses = context.losses
        for name in self.modalities:
            params = self._params[name]
            g_mm = torch.autograd.grad(
                wrapper.scaled(losses['loss']),
                params,
                retain_graph=True,
                allow_unused=True)
            g_uni = torch.autograd.grad(
                wrapper.scaled(losses[f'loss_aux_{name}']),
                params,
                retain_graph=True,
                allow_unused=True)
            self._grads[name] = (_dense(g_mm, params), _dense(g_uni, params))

    @torch.no_grad()
    def modify_gradients(self, wrapper, context: BalanceContext) -> None:
        for name, (g_mm, g_uni) in self._grads.items():
            flat_mm = mean_over_ranks(torch.cat([g.flatten() for g in g_mm]))
            flat_uni = mean_over_ranks(torch.cat([g.flatten() for g in g_uni]))
            flat_mm = at_least_float32(flat_mm)
            flat_uni = at_least_float32(flat_uni)
            cos = torch.nn.functional.cosine_similarity(
                flat_mm, flat_uni, dim=0)
            weight = torch.where(cos > 0, torch.full_like(cos, 0.5),
                                 pareto_weight(flat_mm, flat_uni))
            self.track(**{f'cos_{name}': cos, f'weight_mm_{name}': weight})
            start = 0
            for param in self._params[name]:
                size = param.numel()
                if param.grad is None:
                    start += size
                    continue
                new = 2 * (
                    weight * flat_mm[start:start + size] +
                    (1 - weight) * flat_uni[start:start + size])
                new = new.view_as(param.grad).to(param.grad.dtype)
                start += size
                ratio = param.grad.norm() / new.norm().clamp_min(1e-20)
                scale = torch.where(ratio > 1, ratio, torch.ones_like(ratio))
                param.grad.copy_(self.gamma * scale * new)
        self._grads = {}


def _dense(grads, params) -> list:
    """autograd.grad's result with zeros for unused parameters."""
    return [
        torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)
    ]
