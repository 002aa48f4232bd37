"""Optimizer wrappers that let a balancer act between backward and step."""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from rollingq_mm.models.balancers.base import (BalanceContext,
                                               receiving_step_context)
from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import OPTIM_WRAPPERS


class BalancedUpdateMixin:
    """Lets the model's gradient balancer act around the backward pass.

    :meth:`optim_context`, which mmengine's ``train_step`` (and its DDP
    wrapper's) enters around the forward, opens this wrapper as the receiver
    of the step's :class:`BalanceContext`: the classifier's forward hands it
    over (:meth:`receive_balance_context`), and the wrapper owns it until the
    step. :meth:`backward` then calls the balancer's ``before_backward`` and
    :meth:`step` its ``modify_gradients`` with it before the optimiser
    steps, so mmengine's own ``update_params`` (scale, backward, step,
    zero_grad) runs unchanged. Without a gradient-modifying balancer it is
    the plain wrapper.
    """

    balance_model = None
    _balance_context: Optional[BalanceContext] = None

    @contextmanager
    def optim_context(self, model):
        self.balance_model = unwrap_model(model)
        self._balance_context = None
        with receiving_step_context(self), super().optim_context(model):
            yield

    def receive_balance_context(self, context: BalanceContext) -> None:
        """Called by the classifier's training forward."""
        self._balance_context = context

    def scaled(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` as the backward pass sees it (loss-scaled under AMP)."""
        loss = self.scale_loss(loss)
        scaler = getattr(self, 'loss_scaler', None)
        return scaler.scale(loss) if scaler is not None else loss

    def unscale_gradients(self) -> None:
        """Divide the gradients by the AMP loss scale now (a no-op without
        an active scaler), so that a balancer can add terms in true units;
        the scaler's ``step`` then skips its own unscale."""
        scaler = getattr(self, 'loss_scaler', None)
        if scaler is not None and scaler.is_enabled():
            scaler.unscale_(self.optimizer)

    def _gradient_balancer(self):
        balancer = getattr(self.balance_model, 'balancer', None)
        return balancer if balancer is not None and \
            balancer.modifies_gradients else None

    def _step_context(self, balancer) -> BalanceContext:
        if self._balance_context is None:
            raise RuntimeError(
                f'{type(balancer).__name__}: no training forward handed this '
                'step its context; run the forward inside '
                'optim_wrapper.optim_context(model) (mmengine\'s train_step '
                'does) before update_params')
        return self._balance_context

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        balancer = self._gradient_balancer()
        if balancer is not None:
            if self._accumulative_counts != 1:
                raise ValueError(
                    f'{type(balancer).__name__} changes each mini-batch\'s '
                    'gradients and cannot run with gradient accumulation; set '
                    'optim_wrapper.accumulative_counts=1')
            balancer.before_backward(self, self._step_context(balancer))
        super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        balancer = self._gradient_balancer()
        if balancer is not None:
            context = self._step_context(balancer)
            self._balance_context = None  # the step's tensors end here
            balancer.modify_gradients(self, context)
        super().step(**kwargs)


@OPTIM_WRAPPERS.register_module()
class BalancedOptimWrapper(BalancedUpdateMixin, OptimWrapper):
    """mmengine's OptimWrapper for models with a gradient balancer
    (OGM-GE, MMPareto)."""


@OPTIM_WRAPPERS.register_module()
class BalancedAmpOptimWrapper(BalancedUpdateMixin, AmpOptimWrapper):
    """mmengine's AmpOptimWrapper for models with a gradient balancer;
    ``tools/train.py --amp`` picks it for ``BalancedOptimWrapper``."""
