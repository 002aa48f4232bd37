"""BaseBalancer: the contract of a modality-imbalance method.

A balancer is given to :class:`MultimodalClassifier` as ``balancer=dict(...)``
and acts at up to four points of a training iteration, each called by the
one party that owns that point (data flows one way, nothing is pushed into
the balancer):

* ``modulate_tokens`` — between the encoders and the fusion: change or drop
  a modality's tokens per sample, with a keep mask for the loss (OPM);
  the classifier calls it;
* ``loss_terms`` — the loss dict: add terms (PMR), re-weight or replace the
  fused and unimodal terms (G-Blending); the classifier calls it;
* ``before_backward`` / ``modify_gradients`` — between the backward pass and
  the optimiser step (OGM-GE, MMPareto): :class:`BalancedOptimWrapper` calls
  them with the step's :class:`BalanceContext`, which the classifier's
  forward hands to the wrapper that is open around it (no slot on the model
  holds it), so they work under DDP and AMP;
* ``before_train_epoch(loader, model)`` — epoch-level work (PMR's
  prototypes); :class:`BalanceHook` calls it with the training loader;
* ``evaluate_splits(loaders, model)`` — epoch-end evaluation passes over
  the training split and / or a held-out split (never the test split):
  Re-learning's purities, valuation's contributions;
* ``iteration_phases`` / ``phase_loss`` — several optimiser steps per
  iteration or stages (MLA, ReconBoost): :class:`BalancedTrainLoop` runs
  the model's ``train_step`` once per phase with the balancer in it, and
  the classifier's training forward is then the balancer's ``phase_loss``.

The epoch and the iteration are mmengine's, read from the ``MessageHub``
that the runner's ``RuntimeInfoHook`` updates (and restores on resume).
What a balancer carries from step to step or epoch to epoch (prototypes,
running scores) is its :meth:`BaseBalancer.state_dict`, which BalanceHook
writes into checkpoints and restores on ``--resume``.

Every per-step decision stays on the device (``torch.where``, no
``.item()``), so a balancer adds no host-device synchronisation; per-epoch
means are logged by the hook.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub

#: Per-sample keep masks {modality: [B] float (1 keep, 0 drop)}.
KeepMasks = Dict[str, torch.Tensor]


@dataclass
class BalanceContext:
    """What one training forward of the classifier gives a balancer.

    Args:
        labels (Tensor): Ground truth [B].
        tokens (dict[str, Tensor]): Encoder tokens [B, N_m, D_m] as the
            encoders gave them (before ``modulate_tokens``).
        pooled (dict[str, Tensor]): Pooled tokens [B, D_m] (with grad), by
            the classifier's per-modality pooling.
        fused_logits (Tensor): The head's logits [B, K].
        aux_logits (dict[str, Tensor]): Non-detached unimodal heads' logits.
        probe_logits (dict[str, Tensor]): Detached probes' logits.
        losses (dict[str, Tensor]): The classifier's loss dict (``loss``,
            ``loss_aux_<m>``, ``loss_probe_<m>``).
        keep (dict[str, Tensor], optional): The keep masks [B] that
            ``modulate_tokens`` applied before the fusion. Defaults to None.
        inputs (dict[str, Tensor]): The preprocessed inputs per modality
            (for methods that re-run the encoders on masked inputs).
    """

    labels: torch.Tensor
    tokens: Dict[str, torch.Tensor]
    pooled: Dict[str, torch.Tensor]
    fused_logits: torch.Tensor
    aux_logits: Dict[str, torch.Tensor] = field(default_factory=dict)
    probe_logits: Dict[str, torch.Tensor] = field(default_factory=dict)
    losses: Dict[str, torch.Tensor] = field(default_factory=dict)
    keep: Optional[KeepMasks] = None
    inputs: Dict[str, torch.Tensor] = field(default_factory=dict)


# The optimiser wrapper whose ``optim_context`` is open: the classifier's
# forward hands it the step's context (model -> wrapper -> balancer).
_STEP_RECEIVER: ContextVar = ContextVar('balance_step_receiver', default=None)


@contextmanager
def receiving_step_context(receiver) -> Iterator[None]:
    """Make ``receiver.receive_balance_context(context)`` the destination of
    the contexts that forwards inside this block hand over."""
    token = _STEP_RECEIVER.set(receiver)
    try:
        yield
    finally:
        _STEP_RECEIVER.reset(token)


def hand_over_step_context(context: BalanceContext) -> bool:
    """Give ``context`` to the optimiser wrapper around this forward.

    Returns:
        bool: Whether a wrapper took it (False outside ``optim_context``).
    """
    receiver = _STEP_RECEIVER.get()
    if receiver is None:
        return False
    receiver.receive_balance_context(context)
    return True


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
    #: Whether the method replaces the head's logits, in training and
    #: inference (MMCosine): the classifier then asks :meth:`fused_logits`.
    replaces_logits = False
    #: Whether an iteration is several optimiser steps, one per phase
    #: (needs ``train_cfg.type='BalancedTrainLoop'``).
    steps_in_phases = False
    #: Whether a phase's graph leaves parameters without a gradient (one
    #: encoder per step): DDP then needs ``find_unused_parameters``, which
    #: RobustRunner sets for the method.
    partial_graphs = False
    #: The evaluation passes the method reads after an epoch
    #: (:meth:`evaluate_splits`): ``'train'`` (each training sample once,
    #: in order) and / or ``'held_out'`` (never the test split);
    #: BalanceHook builds their loaders before the first iteration.
    epoch_passes: Tuple[str, ...] = ()
    #: Whether the method re-samples the training data (needs
    #: ``train_dataloader.sampler.type='WeightedResampler'``).
    resamples = False

    def __init__(self, start_epoch: int = 0, end_epoch: Optional[int] = None):
        if start_epoch < 0 or (end_epoch is not None
                               and end_epoch < start_epoch):
            raise ValueError(f'{type(self).__name__}: need 0 <= start_epoch '
                             f'<= end_epoch, got {start_epoch}, {end_epoch}')
        self.start_epoch = start_epoch
        self.end_epoch = end_epoch
        self.hooked = False  # BalanceHook.before_train registers itself
        self.modalities: List[str] = []
        self.phase: Optional[str] = None  # set by BalancedTrainLoop
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
    def epoch(self) -> int:
        """The runner's epoch (0-based), from mmengine's MessageHub."""
        return int(MessageHub.get_current_instance().get_info('epoch', 0))

    @property
    def iteration(self) -> int:
        """The runner's iteration, from mmengine's MessageHub."""
        return int(MessageHub.get_current_instance().get_info('iter', 0))

    @property
    def active(self) -> bool:
        """Whether this epoch is inside [start_epoch, end_epoch]."""
        epoch = self.epoch
        return epoch >= self.start_epoch and (self.end_epoch is None
                                              or epoch <= self.end_epoch)

    def check_hooked(self) -> None:
        """Fail at the first use when BalanceHook is missing: without it
        the epoch work, the state in checkpoints and the logs are gone."""
        if not self.hooked:
            raise RuntimeError(
                f'{type(self).__name__} needs BalanceHook: add '
                "custom_hooks=[dict(type='BalanceHook')] to the config")

    # -------------------------------------------------------- iteration
    def modulate_tokens(
            self, model, tokens: Dict[str, torch.Tensor],
            labels: torch.Tensor
    ) -> Tuple[Dict[str, torch.Tensor], Optional[KeepMasks]]:
        """Change the encoders' tokens before the fusion (training only).

        Returns:
            tuple: the tokens for the fusion and keep masks {m: [B]} (a
            modality with keep 0 is removed from that sample's fusion, and
            a sample that keeps no modality is left out of the fused loss),
            or None. Defaults to the tokens unchanged.
        """
        return tokens, None

    def loss_terms(self, model, context: BalanceContext) -> dict:
        """The loss dict the classifier returns, from ``context.losses``.

        Defaults to ``context.losses`` plus :meth:`extra_losses`; a method
        that re-weights or replaces terms overrides this.
        """
        return {**context.losses, **self.extra_losses(model, context)}

    def fused_logits(self,
                     model,
                     tokens: Dict[str, torch.Tensor],
                     keep: Optional[KeepMasks] = None) -> torch.Tensor:
        """The logits [B, K] in place of the head's, for a method with
        :attr:`replaces_logits`."""
        raise NotImplementedError

    def extra_losses(self, model, context: BalanceContext) -> dict:
        """Loss terms to add (named ``loss_*``). Defaults to none."""
        return {}

    def before_backward(self, wrapper, context: BalanceContext) -> None:
        """Called by BalancedOptimWrapper before the backward pass."""

    def modify_gradients(self, wrapper, context: BalanceContext) -> None:
        """Called by BalancedOptimWrapper between backward and step."""

    # ----------------------------------------------------------- phases
    def iteration_phases(self) -> Sequence[str]:
        """The phases of this iteration, one optimiser step each, for a
        method with :attr:`steps_in_phases` (BalancedTrainLoop asks once
        per iteration). Defaults to none."""
        return ()

    @contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        """The block's training forwards are ``phase``'s."""
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    def phase_loss(self, model, inputs: Dict[str, torch.Tensor],
                   data_samples: list) -> dict:
        """The loss dict of :attr:`phase`'s training forward (the
        classifier's ``loss`` hands over to it inside a phase)."""
        raise NotImplementedError(
            f'{type(self).__name__} names phases but has no phase_loss')

    # ------------------------------------------------------------ epoch
    def before_train_epoch(self, loader, model) -> None:
        """Epoch-level work over the training ``loader`` (BalanceHook)."""

    def evaluate_splits(self, loaders: dict, model) -> None:
        """Epoch-end work on evaluation passes (Re-learning's purities,
        valuation's contributions), before :meth:`after_train_epoch`:
        ``loaders`` maps each of :attr:`epoch_passes` to its loader
        (BalanceHook; read them with ``epoch_pass.per_sample_pass``)."""

    def after_train_epoch(self, model) -> None:
        """Close the epoch (BalanceHook, before the epoch's checkpoint is
        written, so that what this computes is in it)."""

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
            value = torch.as_tensor(value).detach().float()
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
        keys = list(self._sums)
        totals = torch.stack([self._sums[k] for k in keys])
        counts = torch.stack([self._counts[k] for k in keys])
        means = torch.where(counts > 0, totals / counts.clamp_min(1),
                            torch.full_like(totals, float('nan')))
        self._sums, self._counts = {}, {}
        return dict(zip(keys, means.tolist()))


def samples_kept(keep: Optional[KeepMasks],
                 modalities: List[str]) -> Optional[torch.Tensor]:
    """[B] float: 1 for the samples that keep at least one modality (a
    modality without a mask is kept everywhere), or None without masks."""
    if keep is None or any(m not in keep for m in modalities):
        return None
    kept = torch.stack([keep[m] > 0 for m in modalities]).any(dim=0)
    return kept.float()


def combine_keep_masks(first: Optional[KeepMasks],
                       second: Optional[KeepMasks]) -> Optional[KeepMasks]:
    """Both sets of keep masks at once (a modality is kept where both keep
    it); either may be None."""
    if first is None or second is None:
        return second if first is None else first
    return {
        m: first.get(m, 1.) * second.get(m, 1.)
        for m in {**first, **second}
    }


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


def at_least_float32(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float32, or float64 where it is (bf16 / fp16 logits of
    an AMP forward are promoted for the balancers' statistics)."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def true_class_confidence(logits: torch.Tensor,
                          labels: torch.Tensor) -> torch.Tensor:
    """Σ_i softmax(logits_i)[y_i] over the batch (detached), as OGM-GE."""
    probs = at_least_float32(logits.detach()).softmax(dim=-1)
    return probs.gather(1, labels.view(-1, 1)).sum()


__all__ = [
    'BalanceContext', 'BaseBalancer', 'KeepMasks', 'at_least_float32',
    'combine_keep_masks',
    'hand_over_step_context', 'mean_over_ranks', 'receiving_step_context',
    'samples_kept', 'sum_over_ranks', 'true_class_confidence'
]
