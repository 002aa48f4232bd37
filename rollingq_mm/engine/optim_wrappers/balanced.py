"""Optimizer wrappers that let a balancer act between backward and step."""
from contextlib import contextmanager
from typing import Dict, Optional

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import OPTIM_WRAPPERS


class BalancedUpdateMixin:
    """``update_params`` with the model's balancer around the backward pass.

    The model is taken from ``optim_context(model)``, which mmengine's
    ``train_step`` (and its DDP wrapper's) enters before the forward, so the
    balancer sees the same model and the context the forward left on it.
    Without a gradient-modifying balancer it is the plain update.
    """

    balance_model = None
    step_count = 0  # optimiser steps done: seeds per-step randomness

    @contextmanager
    def optim_context(self, model):
        self.balance_model = unwrap_model(model)
        with super().optim_context(model):
            yield

    def scaled(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` as the backward pass sees it (loss-scaled under AMP)."""
        loss = self.scale_loss(loss)
        scaler = getattr(self, 'loss_scaler', None)
        return scaler.scale(loss) if scaler is not None else loss

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        balancer = getattr(self.balance_model, 'balancer', None)
        if balancer is None or not balancer.modifies_gradients:
            super().update_params(loss, step_kwargs, zero_kwargs)
            return
        if self._accumulative_counts != 1:
            raise ValueError(
                f'{type(balancer).__name__} changes each mini-batch\'s '
                'gradients and cannot run with gradient accumulation; set '
                'optim_wrapper.accumulative_counts=1')
        balancer.before_backward(self)
        self.backward(self.scale_loss(loss))
        if self.should_update():
            balancer.modify_gradients(self)
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))
            self.step_count += 1
        balancer.context = None


@OPTIM_WRAPPERS.register_module()
class BalancedOptimWrapper(BalancedUpdateMixin, OptimWrapper):
    """mmengine's OptimWrapper for models with a gradient balancer
    (OGM-GE, MMPareto)."""


@OPTIM_WRAPPERS.register_module()
class BalancedAmpOptimWrapper(BalancedUpdateMixin, AmpOptimWrapper):
    """mmengine's AmpOptimWrapper for models with a gradient balancer;
    ``tools/train.py --amp`` picks it for ``BalancedOptimWrapper``."""
