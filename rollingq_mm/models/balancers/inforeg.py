"""InfoReg (Huang et al., CVPR 2025): adaptive unimodal regulation."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.conv import _ConvNd

from rollingq_mm.registry import MODELS
from .base import (BalanceContext, BaseBalancer, at_least_float32,
                   sum_over_ranks, true_class_confidence)
from .unimodal_logits import UnimodalLogits

#: The authors' β factors: audio dominant 0.95, visual dominant 0.1.
DEFAULT_BETA = dict(audio=0.95, visual=0.1)


@MODELS.register_module()
class InfoReg(BaseBalancer):
    """Hold the dominant encoder near its epoch start in the prime window.

    *Prime learning window.* Each encoder's Fisher trace of an epoch is
    ``Σ_layers mean(Σ_steps g_w²)`` over its Conv / Linear weights' gradients
    (after this method's own term). With ``T`` the history of
    ``window_modality``'s traces (ten zeros before the first), epoch e is in
    the window when ``k = (ΣT[-10:] - ΣT[-11:-1]) / ΣT[-10:] > threshold``
    (k = 1 in the first epoch): the trace is still growing.

    *Regulation.* Per step, with the OGM-style confidences
    ``s_m = Σ_i softmax(o_m)_i[y_i]`` (all-reduced under DDP), the
    dominant modality d (the highest s) gets, inside the window,
    ``β = beta[d]·exp(tanh(s_d - s_2nd))``, and between backward and step
    every parameter θ of its encoder gets ``g += β·(θ - θ_epoch_start)``
    (the gradient of ``β/2·‖θ - θ_0‖²``; unscaled first under AMP). The
    unimodal cross-entropies ``CE(o_m)`` are added to the loss (the
    authors' objective is the fused plus both unimodal losses). Follows
    GeWu-Lab/InfoReg_CVPR2025, ``main.py`` (commit 939b2ed, lines 231-604).

    Deliberate differences from the authors' code: any number of
    modalities (the dominant against the second best); the window
    modality is a parameter (their code: audio's trace); the unimodal
    logits come from the resolver (their code: the fusion head's slices,
    ``'fusion'`` here for concat, aux heads for attention fusion).
    BalanceBenchmark has no InfoReg.

    Args:
        beta (dict[str, float]): β factor per modality, when it dominates.
            Defaults to the authors' ``dict(audio=0.95, visual=0.1)``.
        threshold (float): Window threshold on k. Defaults to 0.05.
        history (int): Epochs in the moving sums. Defaults to 10.
        window_modality (str, optional): Whose trace decides the window;
            None = the first modality. Defaults to None.
        confidence (str): Unimodal logits source, ``'auto'`` / ``'fusion'``
            / ``'aux'``. Defaults to 'auto'.
    """

    modifies_gradients = True

    def __init__(self,
                 beta: Optional[Dict[str, float]] = None,
                 threshold: float = 0.05,
                 history: int = 10,
                 window_modality: Optional[str] = None,
                 confidence: str = 'auto'):
        super().__init__()
        self.beta = dict(DEFAULT_BETA if beta is None else beta)
        if any(b < 0 for b in self.beta.values()) or history < 1:
            raise ValueError('InfoReg: beta must be >= 0 and history >= 1')
        self.threshold, self.history = threshold, history
        self.window_modality = window_modality
        self.unimodal = UnimodalLogits(confidence, 'InfoReg')
        self.traces: Dict[str, List[float]] = {}
        self.k = 1.
        self._anchor: Dict[str, List[torch.Tensor]] = {}
        self._fisher: Dict[str, Dict[str, torch.Tensor]] = {}

    def bind(self, model) -> None:
        super().bind(model)
        self.unimodal.bind(model, allowed=('fusion', 'aux'))
        missing = [m for m in self.modalities if m not in self.beta]
        if missing:
            raise ValueError(f'InfoReg: beta has no factor for {missing}; '
                             'give beta=dict(<modality>=..., ...)')
        if self.window_modality is None:
            self.window_modality = self.modalities[0]
        elif self.window_modality not in self.modalities:
            raise ValueError(f'InfoReg: window_modality='
                             f'{self.window_modality!r} is not one of '
                             f'{self.modalities}')
        self.traces = {m: [0.] * self.history for m in self.modalities}
        self._params = {
            m: [p for p in model.encoders[m].parameters() if p.requires_grad]
            for m in self.modalities
        }
        self._layers = {
            m: {
                name: module.weight
                for name, module in model.encoders[m].named_modules()
                if isinstance(module, (nn.Linear, _ConvNd))
                and module.weight.requires_grad
            }
            for m in self.modalities
        }

    # ------------------------------------------------------------ epoch
    def window_k(self) -> float:
        """k of this epoch from the window modality's trace history."""
        trace = self.traces[self.window_modality]
        if len(trace) == self.history:  # no epoch finished yet
            return 1.
        now = sum(trace[-self.history:])
        before = sum(trace[-self.history - 1:-1])
        return (now - before) / now if now > 0 else 1.

    def before_train_epoch(self, loader, model) -> None:
        self.k = self.window_k()
        self._anchor = {
            m: [p.detach().clone() for p in params]
            for m, params in self._params.items()
        }
        self._fisher = {}

    def after_train_epoch(self, model) -> None:
        for name, layers in self._fisher.items():
            trace = sum(f.mean() for f in layers.values())
            self.traces[name].append(float(trace))
        self._fisher = {}

    @property
    def in_window(self) -> bool:
        return self.k > self.threshold

    # -------------------------------------------------------- iteration
    def extra_losses(self, model, context: BalanceContext) -> dict:
        if self.unimodal.source != 'fusion':
            return {}  # the aux heads' losses are in the dict already
        logits = self.unimodal(model, context)
        return {
            f'loss_inforeg_{m}': F.cross_entropy(logits[m], context.labels)
            for m in self.modalities
        }

    def betas(self, model, context: BalanceContext) -> torch.Tensor:
        """β per modality [M] (zero but for the dominant one)."""
        with torch.no_grad():
            logits = self.unimodal(model, context)
            scores = sum_over_ranks(
                torch.stack([
                    true_class_confidence(logits[m], context.labels)
                    for m in self.modalities
                ]))
        top = scores.topk(2)
        factors = scores.new_tensor([self.beta[m] for m in self.modalities])
        beta = factors * torch.exp(torch.tanh(top.values[0] - top.values[1]))
        dominant = torch.zeros_like(scores).scatter_(0, top.indices[:1], 1.)
        dominant = dominant * (top.values[0] > top.values[1]).float()
        beta = beta * dominant * float(self.in_window)
        self.track(**{f'beta_{m}': b for m, b in zip(self.modalities, beta)})
        return beta

    @torch.no_grad()
    def modify_gradients(self, wrapper, context: BalanceContext) -> None:
        model = wrapper.balance_model
        if not self._anchor:
            raise RuntimeError('InfoReg has no epoch-start parameters; '
                               'BalanceHook takes them before each epoch')
        beta = self.betas(model, context)
        wrapper.unscale_gradients()  # an additive term, in true units
        for index, name in enumerate(self.modalities):
            for param, start in zip(self._params[name], self._anchor[name]):
                if param.grad is not None:
                    param.grad.add_(
                        (param - start).to(param.grad.dtype) * beta[index])
        for name, layers in self._layers.items():
            fisher = self._fisher.setdefault(name, {})
            for layer, weight in layers.items():
                if weight.grad is None:
                    continue
                square = at_least_float32(weight.grad)**2
                fisher[layer] = square if layer not in fisher else \
                    fisher[layer] + square

    # ------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """The trace history (the window of the coming epochs)."""
        return dict(traces={m: list(t) for m, t in self.traces.items()})

    def load_state_dict(self, state: dict) -> None:
        for name, trace in (state.get('traces') or {}).items():
            self.traces[name] = [float(x) for x in trace]


__all__ = ['InfoReg', 'DEFAULT_BETA']
