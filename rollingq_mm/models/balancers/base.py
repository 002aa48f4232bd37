"""BaseBalancer: the contract of a modality-imbalance method.

A balancer is given to :class:`MultimodalClassifier` as ``balancer=dict(...)``
and acts at up to three points of a training iteration:

* ``extra_losses`` — terms added to the loss dict in ``loss`` (PMR);
* ``before_backward`` / ``modify_gradients`` — between the backward pass and
  the optimiser step (OGM-GE, MMPareto); :class:`BalancedOptimWrapper` calls
  them, so they work under DDP and AMP;
* ``before_train_epoch`` — epoch-level work (PMR's prototypes);
  :class:`BalanceHook` calls it and tells the balancer the epoch and, before
  every iteration, the iteration (both restored by mmengine on resume).

What a balancer must carry from epoch to epoch (PMR's prototypes) is its
:meth:`BaseBalancer.state_dict`, which BalanceHook writes into checkpoints
and restores on ``--resume``.

It reads what one forward produced from a :class:`BalanceContext`. Every
per-step decision stays on the device (``torch.where``, no ``.item()``), so
a balancer adds no host-device synchronisation; per-epoch means are logged
by the hook.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size


@dataclass
class BalanceContext:
    """What one training forward of the classifier gives a balancer.

    Args:
        labels (Tensor): Ground truth [B].
        tokens (dict[str, Tensor]): Encoder tokens [B, N_m, D_m].
        pooled (dict[str, Tensor]): Pooled tokens [B, D_m] (with grad), by
            the classifier's per-modality pooling.
        fused_logits (Tensor): The head's logits [B, K].
        aux_logits (dict[str, Tensor]): Non-detached unimodal heads' logits.
        probe_logits (dict[str, Tensor]): Detached probes' logits.
        losses (dict[str, Tensor]): The loss dict so far (``loss``,
            ``loss_aux_<m>``, ``loss_probe_<m>``).
    """

    labels: torch.Tensor
    tokens: Dict[str, torch.Tensor]
    pooled: Dict[str, torch.Tensor]
    fused_logits: torch.Tensor
    aux_logits: Dict[str, torch.Tensor] = field(default_factory=dict)
    probe_logits: Dict[str, torch.Tensor] = field(default_factory=dict)
    losses: Dict[str, torch.Tensor] = field(default_factory=dict)


class BaseBalancer:
    """Base of the balance methods; see the module docstring.

    Args:
        start_epoch (int): First epoch (0-based, inclusive) in which the
            method acts. Defaults to 0.
        end_epoch (int, optional): Last epoch (inclusive); None = to the
            end. Defaults to None.
    """

    #: Whether the method changes gradients between backward and step
    #: (needs ``optim_wrapper.type='BalancedOptimWrapper'``).
    modifies_gradients = False
    #: Whether the method differentiates the encoders' graph more than once
    #: per step (``autograd.grad(retain_graph=True)``): compiled encoders
    #: must then keep their backward buffers (see ``compile_submodules``).
    retains_graph = False

    def __init__(self, start_epoch: int = 0, end_epoch: Optional[int] = None):
        if start_epoch < 0 or (end_epoch is not None
                               and end_epoch < start_epoch):
            raise ValueError(f'{type(self).__name__}: need 0 <= start_epoch '
                             f'<= end_epoch, got {start_epoch}, {end_epoch}')
        self.start_epoch = start_epoch
        self.end_epoch = end_epoch
        self.epoch = 0
        self.iteration = 0  # the runner's, set by BalanceHook
        self.hooked = False  # set by BalanceHook.before_train
        self.context: Optional[BalanceContext] = None
        self.modalities: List[str] = []
        self._sums: Dict[str, torch.Tensor] = {}
        self._counts: Dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------- setup
    def bind(self, model) -> None:
        """Learn the model's modalities; check what the method needs.

        Raises:
            ValueError: if the model lacks what the method needs.
        """
        self.modalities = list(model.modalities)
        if len(self.modalities) < 2:
            raise ValueError(f'{type(self).__name__} balances two or more '
                             f'modalities; the model has {self.modalities}')

    @property
    def active(self) -> bool:
        """Whether this epoch is inside [start_epoch, end_epoch]."""
        return self.epoch >= self.start_epoch and (
            self.end_epoch is None or self.epoch <= self.end_epoch)

    def check_hooked(self) -> None:
        if not self.hooked:
            raise RuntimeError(
                f'{type(self).__name__} needs BalanceHook: add '
                "custom_hooks=[dict(type='BalanceHook')] to the config")

    # -------------------------------------------------------- iteration
    def extra_losses(self, model, context: BalanceContext) -> dict:
        """Loss terms to add (named ``loss_*``). Defaults to none."""
        return {}

    def before_backward(self, wrapper) -> None:
        """Called by BalancedOptimWrapper before the backward pass."""

    def modify_gradients(self, wrapper) -> None:
        """Called by BalancedOptimWrapper between backward and step."""

    # ------------------------------------------------------------ epoch
    def before_train_epoch(self, runner, model) -> None:
        """Epoch-level work; BalanceHook has set :attr:`epoch`."""

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """What continuing a run needs, as tensors and plain containers
        (BalanceHook puts it in checkpoints). Defaults to nothing."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (on ``--resume``)."""

    def track(self, **values: torch.Tensor) -> None:
        """Add per-step values (device tensors) to the epoch means.

        A non-finite value (a step that fp16's loss scaler skips for its
        overflowed gradients) is left out of the mean, without a host sync.
        """
        for key, value in values.items():
            value = value.detach().float()
            finite = torch.isfinite(value)
            value = torch.where(finite, value, torch.zeros_like(value))
            total = self._sums.get(key)
            self._sums[key] = value if total is None else total + value
            count = self._counts.get(key)
            finite = finite.float()
            self._counts[key] = finite if count is None else count + finite

    def epoch_scalars(self) -> Dict[str, float]:
        """The epoch means of :meth:`track` over its finite values (one
        sync; NaN where no step was finite), then reset."""
        if not self._sums:
            return {}
        out = {}
        for key, total in self._sums.items():
            count = self._counts[key]
            out[key] = float(
                torch.where(count > 0, total / count.clamp_min(1),
                            torch.full_like(total, float('nan'))))
        self._sums, self._counts = {}, {}
        return out


def mean_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of ``tensor`` over DDP ranks (itself without DDP)."""
    if get_world_size() > 1:
        tensor = tensor.clone()
        all_reduce(tensor, op='mean')
    return tensor


def sum_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over DDP ranks (itself without DDP)."""
    if get_world_size() > 1:
        tensor = tensor.clone()
        all_reduce(tensor, op='sum')
    return tensor


def true_class_confidence(logits: torch.Tensor,
                          labels: torch.Tensor) -> torch.Tensor:
    """Σ_i softmax(logits_i)[y_i] over the batch (detached), as OGM-GE."""
    probs = logits.detach().float().softmax(dim=-1)
    return probs.gather(1, labels.view(-1, 1)).sum()


__all__ = [
    'BalanceContext', 'BaseBalancer', 'mean_over_ranks', 'sum_over_ranks',
    'true_class_confidence'
]
