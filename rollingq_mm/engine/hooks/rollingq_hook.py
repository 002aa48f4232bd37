"""RollingQHook: measure the attention imbalance, maybe rotate, each epoch."""
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Tuple

import torch
from mmengine.dist import broadcast, is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from rollingq_mm.models.records import (RollingQStatistics, RotationCheck,
                                        find_record)
from rollingq_mm.models.rollingq import (RollingQuery, find_rolling_queries,
                                         unwrap_model)
from rollingq_mm.models.utils import eval_mode, preprocessed_batches
from rollingq_mm.ops import (ROTATION_METHODS, anchor_query, exceeds_threshold,
                             modality_weights, rotation_between)
from rollingq_mm.registry import HOOKS

STATS_MODES = ('epoch', 'pass')
AIR_SOURCES = ('epoch', 'last_batch')


@dataclass
class _PendingCheck:
    """One RollingQuery's end-of-epoch check while the hook decides it."""

    name: str
    query: RollingQuery
    owner: torch.nn.Module
    stats: RollingQStatistics  # the epoch's all-reduced sums
    reason: Optional[str] = None  # why it does not rotate; None: it rotates


@HOOKS.register_module()
class RollingQHook(Hook):
    """RollingQ: rotate each CLS query toward a balanced anchor.

    While a training epoch runs, the hook reads the :class:`AttentionRecord`
    that every attention holding a :class:`RollingQuery` returns, and adds it
    to the query's statistics (sums of q, k̄_m, cos(q, k̄_m), attention
    shares) — for every batch when ``stats='epoch'`` or ``air_from='epoch'``
    needs them, else (the defaults) for the epoch's last batch only, so the
    default costs nothing per training step. At the end of every
    ``interval``-th epoch it all-reduces the
    sums across ranks, computes c_m and AIR, logs them next to the attention
    shares, and when ``|AIR| > beta`` (M ≥ 3: ``max_m |c_m - mean(c)| >
    beta / 2``) and fewer than ``max_rotations`` rotations were done,
    rotates: α = softmax(-2σc), q_b = Σ α_m E[k̄_m] / ‖·‖ scaled to ‖E[q]‖,
    R ← R_b R with R_b E[q] ∥ q_b. Every check, rotated or not, is stored in
    the query's history (and so in the checkpoint), and logged with the
    reason when it does not rotate.

    The defaults are the authors' procedure, which AV-Digits (both variants)
    and the synthetic set confirmed over 3 seeds (docs/av_digits.md has the
    ablation of every option).

    Args:
        beta (float): Trigger threshold β on |AIR|. Defaults to 0 (paper).
        sigma (float): Anchor sensitivity σ. Defaults to 0 (paper; equal
            weights).
        max_rotations (int, optional): Cap on rotations per RollingQuery;
            None = re-anchor at every check. Defaults to 1 (the paper for
            CREMA-D / MOSEI; 3 for KS). Re-anchoring every epoch pins the
            attention shares and cost 7.4 / 12.4 points on AV-Digits
            (balanced / imbalanced).
        interval (int): Check every ``interval`` epochs. Defaults to 1.
        stats (str): Where E[q], E[k̄_m] come from: ``'epoch'`` (the
            training epoch, no extra cost) or ``'pass'`` (the paper: an extra
            no-grad eval-mode pass over the training loader when a rotation
            triggers). Defaults to 'pass'.
        air_from (str): ``'epoch'`` (mean over the training epoch) or
            ``'last_batch'`` (the paper). Defaults to 'last_batch'.
        method (str): ``'planar'`` (minimal rotation) or ``'svd'`` (the
            authors'). Defaults to 'svd'.
        max_batches (int, optional): Cap on batches of the extra pass per
            rank. Defaults to None (the whole loader).
        progressive (bool): With several RollingQueries (multi-layer fusion),
            rotate at most one per check (its rotation changes what later
            layers see): the triggered one rotated least so far, the first
            in model order among equals, so layers take turns from the first
            on. Defaults to True.
    """

    # before CheckpointHook, so that the epoch's checkpoint has R
    priority = 'NORMAL'

    def __init__(self,
                 beta: float = 0.,
                 sigma: float = 0.,
                 max_rotations: Optional[int] = 1,
                 interval: int = 1,
                 stats: str = 'pass',
                 air_from: str = 'last_batch',
                 method: str = 'svd',
                 max_batches: Optional[int] = None,
                 progressive: bool = True):
        _check_choice('stats', stats, STATS_MODES)
        _check_choice('air_from', air_from, AIR_SOURCES)
        _check_choice('method', method, ROTATION_METHODS)
        if beta < 0 or sigma < 0:
            raise ValueError(f'RollingQHook: beta ({beta}) and sigma ({sigma})'
                             ' must be >= 0')
        if max_rotations is not None and (not isinstance(max_rotations, int)
                                          or max_rotations < 0):
            raise ValueError(f'RollingQHook: max_rotations must be an int >= '
                             f'0 or None, got {max_rotations!r}')
        if interval < 1:
            raise ValueError(f'RollingQHook: interval must be >= 1, got '
                             f'{interval}')
        if max_batches is not None and max_batches < 1:
            raise ValueError(f'RollingQHook: max_batches must be >= 1 or '
                             f'None, got {max_batches}')
        self.beta = beta
        self.sigma = sigma
        self.max_rotations = max_rotations
        self.interval = interval
        self.stats = stats
        self.air_from = air_from
        self.method = method
        self.max_batches = max_batches
        self.progressive = progressive
        self._handles = []
        self._unseen = set()
        self._collect_from = 0

    # ---------------------------------------------------- record collection
    def start_collecting(self, queries: List[Tuple]) -> None:
        """Add every query owner's AttentionRecord to the query's statistics
        until :meth:`stop_collecting` (PyTorch forward hooks).

        Args:
            queries (list[tuple]): ``(name, query, owner)`` as
                :func:`find_rolling_queries` returns them.
        """
        self.stop_collecting()
        self._unseen = set()
        for name, query, owner in queries:
            query.reset_statistics()
            self._unseen.add(name)
            self._handles.append(
                owner.register_forward_hook(
                    partial(self._collect, name, query)))

    def _collect(self, name: str, query: RollingQuery, module, args,
                 output) -> None:
        record = find_record(output)
        if record is None:
            raise TypeError(
                f'RollingQHook: {type(module).__name__} holds the '
                f'RollingQuery {name!r} but returned no AttentionRecord; '
                'return (out, AttentionRecord(q_cls, keys, token_slices)) '
                'from its forward (see rollingq_mm.models.records)')
        self._unseen.discard(name)
        query.observe(record)

    def stop_collecting(self) -> None:
        """Remove the forward hooks of :meth:`start_collecting`."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Check the model before the first iteration; report a resume."""
        queries = find_rolling_queries(runner.model)
        if not queries:
            raise RuntimeError(
                'RollingQHook found no RollingQuery in the model; use a neck '
                'with rolling=True (e.g. AttentionFusion) or remove the hook')
        for name, query, _ in queries:
            if query.modalities is not None and len(query.modalities) < 2:
                raise RuntimeError(
                    f'RollingQHook: {name} attends over the single modality '
                    f'{query.modalities}; RollingQ balances two or more. '
                    'Remove the hook from this config')
            if query.history:
                last = query.history[-1]
                rotated = [c.epoch for c in query.history if c.rotated]
                runner.logger.info(
                    f'RollingQ {name}: restored {int(query.num_rotations)} '
                    f'rotation(s) (at epoch(s) {rotated}), last check epoch '
                    f'{last.epoch} with AIR {last.air:.4f}')

    def _first_collected_batch(self, runner) -> int:
        """0, or the last batch when only the last batch's statistics are
        used (AIR from the last batch, the anchor from the extra pass)."""
        if self.stats == 'epoch' or self.air_from == 'epoch':
            return 0
        try:
            return max(0, len(runner.train_dataloader) - 1)
        except TypeError:  # a loader without a length: every batch
            return 0

    def before_train_epoch(self, runner) -> None:
        self._collect_from = self._first_collected_batch(runner)
        self.stop_collecting()
        for _, query, _ in find_rolling_queries(runner.model):
            query.reset_statistics()

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if batch_idx == self._collect_from:
            self.start_collecting(find_rolling_queries(runner.model))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if batch_idx == self._collect_from and self._unseen:
            self.stop_collecting()
            raise RuntimeError(
                f'RollingQHook: {sorted(self._unseen)} saw no attention '
                'forward in a training iteration; the module holding a '
                'RollingQuery must run in the training forward')

    def after_train_epoch(self, runner) -> None:
        self.stop_collecting()
        if not self.every_n_epochs(runner, self.interval):
            return
        queries = find_rolling_queries(runner.model)
        checks = []
        for name, query, owner in queries:
            stats = None if query.statistics is None else \
                query.statistics.all_reduced()
            if stats is None or stats.count == 0:
                runner.logger.warning(f'RollingQ {name}: saw no batch this '
                                      'epoch; no check')
            elif not stats.is_finite():
                runner.logger.warning(
                    f'RollingQ {name}: non-finite statistics (NaN/inf in the '
                    'fusion\'s queries or keys); no check this epoch')
            else:
                checks.append(_PendingCheck(name, query, owner, stats))
        self._decide(checks)
        wanted = [c for c in checks if c.reason is None]
        if wanted and self.stats == 'pass':
            self._statistics_pass(runner,
                                  [(c.name, c.query, c.owner) for c in wanted])
        for check in checks:
            self._check(runner, check, multiple=len(queries) > 1)

    # ------------------------------------------------------------ decision
    def _decide(self, checks: List[_PendingCheck]) -> None:
        """Set each check's reason not to rotate (None = rotate)."""
        for check in checks:
            cosines = check.stats.cosines(self.air_from)
            rotations = int(check.query.num_rotations)
            if not exceeds_threshold(cosines, self.beta):
                check.reason = (f'imbalance within beta={self.beta}'
                                if len(cosines) > 2 else
                                f'|AIR| <= beta={self.beta}')
            elif self.max_rotations is not None and \
                    rotations >= self.max_rotations:
                check.reason = (f'cap reached ({rotations} of '
                                f'max_rotations={self.max_rotations})')
        triggered = [c for c in checks if c.reason is None]
        if self.progressive and len(triggered) > 1:
            # the least-rotated layer first, model order among equals
            first = min(triggered, key=lambda c: int(c.query.num_rotations))
            for check in triggered:
                if check is not first:
                    check.reason = ('another layer rotates this epoch '
                                    '(progressive)')

    def _check(self, runner, check: _PendingCheck, multiple: bool) -> None:
        """Rotate the query unless the check has a reason not to; log and
        record the check.

        ``check.stats`` are the training-epoch sums that decided the
        trigger; with ``stats='pass'`` the anchor comes from the pass's sums.
        """
        query, stats, reason = check.query, check.stats, check.reason
        cosines = stats.cosines(self.air_from)
        weights = modality_weights(cosines, self.sigma)
        if reason is None:
            anchor_stats = stats
            if self.stats == 'pass' and query.statistics is not None:
                anchor_stats = query.statistics.all_reduced()
            reason = self._rotate(query, weights, anchor_stats)
        names = query.modalities
        record = RotationCheck(
            epoch=runner.epoch + 1,
            air=stats.air(self.air_from),
            rotated=reason is None,
            cosines=dict(zip(names, cosines.tolist())),
            weights=dict(zip(names, weights.tolist())),
            shares=dict(zip(names, stats.shares.tolist())),
            reason=reason)
        query.append_history(record)
        self._log(runner, check.name if multiple else '', check.name, query,
                  record)

    def _rotate(self, query: RollingQuery, weights: torch.Tensor,
                stats: RollingQStatistics) -> Optional[str]:
        """Rotate toward the anchor; returns why not, or None."""
        if stats.count == 0:
            return 'no statistics from the pass'
        try:
            anchor = anchor_query(stats.mean_query, stats.mean_keys, weights,
                                  query.modalities)
            rotation = rotation_between(stats.mean_query, anchor, self.method)
        except ValueError as error:
            return f'degenerate statistics: {error}'
        rotation = rotation.to(query.rotation.device, query.rotation.dtype)
        # Every rank computed the same R from the same reduced sums; the
        # broadcast makes that bit-exact even across heterogeneous devices.
        broadcast(rotation, src=0)
        query.rotate(rotation)
        return None

    @staticmethod
    def _log(runner, prefix_name: str, name: str, query: RollingQuery,
             check: RotationCheck) -> None:
        prefix = f'rollingq/{prefix_name}/' if prefix_name else 'rollingq/'
        scalars = {
            f'{prefix}air': check.air,
            f'{prefix}rotated': int(check.rotated),
            f'{prefix}num_rotations': int(query.num_rotations)
        }
        for field, values in (('cos', check.cosines),
                              ('weight', check.weights), ('share',
                                                          check.shares)):
            for modality, value in values.items():
                scalars[f'{prefix}{field}_{modality}'] = value
        runner.visualizer.add_scalars(scalars, step=check.epoch)
        for key, value in scalars.items():
            runner.message_hub.update_info(key, value)
        text = ', '.join(f'{k.split("/")[-1]}: {v}' if isinstance(v, int) else
                         f'{k.split("/")[-1]}: {v:.4f}'
                         for k, v in scalars.items())
        event = (f' -> ROTATED (rotation #{int(query.num_rotations)})'
                 if check.rotated else f' -> not rotated: {check.reason}')
        log = runner.logger.warning if check.reason and \
            check.reason.startswith(('degenerate', 'no statistics')) else \
            runner.logger.info
        log(f'RollingQ {name} epoch {check.epoch}: {text}{event}')

    # ----------------------------------------------------- statistics pass
    @torch.no_grad()
    def _statistics_pass(self, runner, queries: List[Tuple]) -> None:
        """The paper's extra no-grad eval-mode pass over the training data."""
        model = unwrap_model(runner.model)
        loader = runner.train_dataloader
        total = len(loader) if self.max_batches is None else min(
            len(loader), self.max_batches)
        self.start_collecting(queries)
        progress = ProgressBar(total) if is_main_process() else None
        try:
            with eval_mode(model):
                for data in preprocessed_batches(model, loader, total):
                    model(**data, mode='tensor')
                    if progress is not None:
                        progress.update()
        finally:
            self.stop_collecting()
        if progress is not None:
            print()


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'RollingQHook: {name}={value!r} is not one of '
                         f'{choices}')
