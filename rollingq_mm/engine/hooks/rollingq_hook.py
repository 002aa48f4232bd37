"""RollingQHook: measure the attention imbalance, maybe rotate, each epoch."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import broadcast

from rollingq_mm.models.records import RollingQStatistics, RotationCheck
from rollingq_mm.models.rollingq import (RollingQuery, find_rolling_queries,
                                         unwrap_model)
from rollingq_mm.models.utils import eval_mode, preprocessed_batches
from rollingq_mm.ops import (ROTATION_METHODS, anchor_query, exceeds_threshold,
                             modality_weights, rotation_between)
from rollingq_mm.registry import HOOKS
from rollingq_mm.utils.progress import progress_bar
from .checkpointed_hook import CheckpointedHook
from .statistics_collector import StatisticsCollector

STATS_MODES = ('epoch', 'pass')
AIR_SOURCES = ('epoch', 'last_batch')


@dataclass
class _PendingCheck:
    """One RollingQuery's end-of-epoch check while the hook decides it."""

    name: str
    query: RollingQuery
    owner: torch.nn.Module
    epoch_sums: RollingQStatistics  # the training epoch's, all-reduced
    reason: Optional[str] = None  # why it does not rotate; None: it rotates


@HOOKS.register_module()
class RollingQHook(CheckpointedHook):
    """RollingQ: rotate each CLS query toward a balanced anchor.

    While a training epoch runs, a :class:`StatisticsCollector` reads the
    :class:`AttentionRecord` that every attention holding a
    :class:`RollingQuery` returns and sums q, k̄_m, cos(q, k̄_m) and the
    attention shares — for every batch when ``stats='epoch'`` or
    ``air_from='epoch'`` needs them, else (the defaults) for the epoch's last
    batch only, so the default costs nothing per training step. At the end of
    every ``interval``-th epoch the hook all-reduces the sums across ranks,
    computes c_m and AIR, logs them next to the attention shares, and when
    ``|AIR| > beta`` (M ≥ 3: ``max_m |c_m - mean(c)| > beta / 2``) and fewer
    than ``max_rotations`` rotations were done, rotates: α = softmax(-2σc),
    q_b = Σ α_m E[k̄_m] / ‖·‖ scaled to ‖E[q]‖, R ← R_b R with R_b E[q] ∥
    q_b. Every check, rotated or not, is logged (with the reason when it
    does not rotate) and kept in :attr:`history`.

    State: the rotation and its count are buffers of each RollingQuery (the
    model needs them at inference); the history of checks is the hook's and
    travels in ``checkpoint['meta']['rollingq_hook']`` as plain containers,
    restored on ``--resume`` (:class:`CheckpointedHook`; checkpoints of the
    first two releases, which kept it as an ``air_history`` buffer, are
    converted to it when loaded).

    The defaults are the authors' procedure; docs/av_digits.md has the
    measured ablation of every option.

    Args:
        beta (float): Trigger threshold β on |AIR|. Defaults to 0 (paper).
        sigma (float): Anchor sensitivity σ. Defaults to 0 (paper; equal
            weights).
        max_rotations (int, optional): Cap on rotations per RollingQuery;
            None = re-anchor at every check (harmful on real data, see
            docs/av_digits.md). Defaults to 1 (the paper for CREMA-D /
            MOSEI; 3 for KS).
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
    #: Where the hook's state goes in a checkpoint's meta.
    META_KEY = 'rollingq_hook'

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
        #: Every check of every RollingQuery, oldest first, by query name.
        self.history: Dict[str, List[RotationCheck]] = {}
        self._collector: Optional[StatisticsCollector] = None
        self._collect_from = 0

    # ------------------------------------------------------ state and resume
    def state_dict(self, runner) -> dict:
        """:attr:`history` as plain containers, for the checkpoint's meta."""
        return dict(
            checks={
                name: [check.to_dict() for check in checks]
                for name, checks in self.history.items()
            })

    def load_state_dict(self, runner, state: dict) -> None:
        """Restore :attr:`history` (on ``--resume``, not ``load_from``)."""
        self.history = {
            name: [RotationCheck.from_dict(check) for check in checks]
            for name, checks in state['checks'].items()
        }

    def before_train(self, runner) -> None:
        """Check the model before the first iteration; report a resume."""
        queries = find_rolling_queries(runner.model)
        if not queries:
            raise RuntimeError(
                'RollingQHook found no RollingQuery in the model; use a neck '
                'with rolling=True (e.g. AttentionFusion) or remove the hook')
        modalities = getattr(unwrap_model(runner.model), 'modalities', None)
        if modalities is not None and len(modalities) < 2:
            raise RuntimeError(
                f'RollingQHook: the model has the single modality '
                f'{list(modalities)}; RollingQ balances two or more. Remove '
                'the hook from this config')
        for name, query, _ in queries:
            checks = self.history.get(name)
            if checks:
                rotated = [c.epoch for c in checks if c.rotated]
                runner.logger.info(
                    f'RollingQ {name}: restored {int(query.num_rotations)} '
                    f'rotation(s) (at epoch(s) {rotated}), last check epoch '
                    f'{checks[-1].epoch} with AIR {checks[-1].air:.4f}')

    # ---------------------------------------------------- record collection
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
        self._close_collector()
        self._collector = StatisticsCollector(
            find_rolling_queries(runner.model))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if batch_idx == self._collect_from and self._collector is not None:
            self._collector.open()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if batch_idx == self._collect_from and self._collector is not None \
                and self._collector.unseen:
            unseen = self._collector.unseen
            self._close_collector()
            raise RuntimeError(
                f'RollingQHook: {unseen} saw no attention forward in a '
                'training iteration; the module holding a RollingQuery must '
                'run in the training forward')

    def _close_collector(self) -> Optional[StatisticsCollector]:
        collector, self._collector = self._collector, None
        if collector is not None:
            collector.close()
        return collector

    def after_train_epoch(self, runner) -> None:
        collector = self._close_collector()
        if collector is None or not self.every_n_epochs(runner, self.interval):
            return
        checks = []
        for name, query, owner in collector.queries:
            sums = collector.statistics[name]
            sums = None if sums is None else sums.all_reduced()
            if sums is None or sums.count == 0:
                runner.logger.warning(f'RollingQ {name}: saw no batch this '
                                      'epoch; no check')
            elif not sums.is_finite():
                runner.logger.warning(
                    f'RollingQ {name}: non-finite statistics (NaN/inf in the '
                    'fusion\'s queries or keys); no check this epoch')
            else:
                checks.append(_PendingCheck(name, query, owner, sums))
        self._decide(checks)
        wanted = [c for c in checks if c.reason is None]
        anchor_sums = {c.name: c.epoch_sums for c in wanted}
        if wanted and self.stats == 'pass':
            anchor_sums = self._statistics_pass(runner,
                                                [(c.name, c.query, c.owner)
                                                 for c in wanted])
        for check in checks:
            self._check(runner, check, anchor_sums.get(check.name),
                        len(collector.queries) > 1)

    # ------------------------------------------------------------ decision
    def _decide(self, checks: List[_PendingCheck]) -> None:
        """Set each check's reason not to rotate (None = rotate)."""
        for check in checks:
            cosines = check.epoch_sums.cosines(self.air_from)
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

    def _check(self, runner, check: _PendingCheck,
               anchor_sums: Optional[RollingQStatistics],
               multiple: bool) -> None:
        """Rotate the query unless the check has a reason not to; log and
        record the check.

        ``check.epoch_sums`` decided the trigger; the anchor comes from
        ``anchor_sums`` (the pass's with ``stats='pass'``, else the same).
        """
        query, sums, reason = check.query, check.epoch_sums, check.reason
        cosines = sums.cosines(self.air_from)
        weights = modality_weights(cosines, self.sigma)
        if reason is None:
            reason = self._rotate(query, weights, anchor_sums)
        names = sums.modalities
        record = RotationCheck(
            epoch=runner.epoch + 1,
            air=sums.air(self.air_from),
            rotated=reason is None,
            cosines=dict(zip(names, cosines.tolist())),
            weights=dict(zip(names, weights.tolist())),
            shares=dict(zip(names, sums.shares.tolist())),
            reason=reason)
        self.history.setdefault(check.name, []).append(record)
        self._log(runner, check.name if multiple else '', check.name, query,
                  record)

    def _rotate(self, query: RollingQuery, weights: torch.Tensor,
                sums: Optional[RollingQStatistics]) -> Optional[str]:
        """Rotate toward the anchor; returns why not, or None."""
        if sums is None or sums.count == 0:
            return 'no statistics from the pass'
        try:
            anchor = anchor_query(sums.mean_query, sums.mean_keys, weights,
                                  sums.modalities)
            rotation = rotation_between(sums.mean_query, anchor, self.method)
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
    def _statistics_pass(
            self, runner,
            queries: List[Tuple]) -> Dict[str, RollingQStatistics]:
        """The paper's extra no-grad eval-mode pass over the training data.

        Returns:
            dict[str, RollingQStatistics]: The pass's all-reduced sums of
            each query in ``queries`` that saw a batch.
        """
        model = unwrap_model(runner.model)
        loader = runner.train_dataloader
        total = len(loader) if self.max_batches is None else min(
            len(loader), self.max_batches)
        with StatisticsCollector(queries) as collector, eval_mode(model), \
                progress_bar(total, 'RollingQ statistics pass',
                             runner.logger) as progress:
            for data in preprocessed_batches(model, loader, total):
                model(**data, mode='tensor')
                progress.update()
        return {
            name: sums.all_reduced()
            for name, sums in collector.statistics.items() if sums is not None
        }


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'RollingQHook: {name}={value!r} is not one of '
                         f'{choices}')
