"""Optimizer wrappers that let a balancer act between backward and step."""
from contextlib import contextmanager

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import OPTIM_WRAPPERS


class BalancedUpdateMixin:
    """Lets the model's gradient balancer act around the backward pass.

    :meth:`backward` calls the balancer's ``before_backward`` first, and
    :meth:`step` its ``modify_gradients`` before the optimiser steps, so
    mmengine's own ``update_params`` (scale, backward, step, zero_grad) runs
    unchanged. The model is taken from ``optim_context(model)``, which
    mmengine's ``train_step`` (and its DDP wrapper's) enters before the
    forward, so the balancer sees the same model and the context the forward
    left on it. Without a gradient-modifying balancer it is the plain wrapper.
    """

    balance_model = None

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

    def _gradient_balancer(self):
        balancer = getattr(self.balance_model, 'balancer', None)
        return balancer if balancer is not None and \
            balancer.modifies_gradients else None

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        balancer = self._gradient_balancer()
        if balancer is not None:
            if self._accumulative_counts != 1:
                raise ValueError(
                    f'{type(balancer).__name__} changes each mini-batch\'s '
                    'gradients and cannot run with gradient accumulation; set '
                    'optim_wrapper.accumulative_counts=1')
            balancer.before_backward(self)
        super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        balancer = self._gradient_balancer()
        if balancer is not None:
            balancer.modify_gradients(self)
            balancer.context = None
        super().step(**kwargs)


@OPTIM_WRAPPERS.register_module()
class BalancedOptimWrapper(BalancedUpdateMixin, OptimWrapper):
    """mmengine's OptimWrapper for models with a gradient balancer
    (OGM-GE, MMPareto)."""


@OPTIM_WRAPPERS.register_module()
class BalancedAmpOptimWrapper(BalancedUpdateMixin, AmpOptimWrapper):
    """mmengine's AmpOptimWrapper for models with a gradient balancer;
    ``tools/train.py --amp`` picks it for ``BalancedOptimWrapper``."""
