"""RollingQHook: measure the attention imbalance each epoch and maybe rotate."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, broadcast, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar

from rollingq_mm.models.rollingq import RollingQuery
from rollingq_mm.ops import (ROTATION_METHODS, anchor_query, exceeds_threshold,
                             imbalance_rate, modality_weights,
                             rotation_between)
from rollingq_mm.registry import HOOKS

STATS_MODES = ('epoch', 'pass')
AIR_SOURCES = ('epoch', 'last_batch')


@HOOKS.register_module()
class RollingQHook(Hook):
    """RollingQ: rotate each CLS query toward a balanced anchor.

    Every RollingQuery in the model accumulates, during training, the sums of
    its CLS query q, the per-modality key means k̄_m and cos(q, k̄_m). At the
    end of every ``interval``-th epoch this hook all-reduces the sums across
    ranks, computes c_m and AIR, logs them, and when ``|AIR| > beta`` (M ≥ 3:
    ``max_m |c_m - mean(c)| > beta / 2``) and fewer than ``max_rotations``
    rotations were done, rotates: α = softmax(-2σc), q_b = Σ α_m E[k̄_m] / ‖·‖
    scaled to ‖E[q]‖, R ← R_b R with R_b E[q] ∥ q_b.

    Args:
        beta (float): Trigger threshold β on |AIR|. Defaults to 0 (paper).
        sigma (float): Anchor sensitivity σ. Defaults to 0 (paper; equal
            weights).
        max_rotations (int, optional): Cap on rotations per RollingQuery;
            None = no cap. Defaults to None: on the embedded default,
            re-anchoring at every check measured better than one rotation
            (README, "Results"); the paper uses 1 (CREMA-D, MOSEI) or 3 (KS).
        interval (int): Check every ``interval`` epochs. Defaults to 1.
        stats (str): Where E[q], E[k̄_m] come from: ``'epoch'`` (accumulated
            during the training epoch, no extra cost) or ``'pass'`` (the
            paper: an extra no-grad eval-mode pass over the training loader
            when a rotation triggers). Defaults to 'epoch'.
        air_from (str): ``'epoch'`` (mean over the training epoch) or
            ``'last_batch'`` (the paper). Defaults to 'epoch'.
        method (str): ``'planar'`` or ``'svd'`` (the authors'). Defaults to
            'planar'.
        max_batches (int, optional): Cap on batches of the extra pass per
            rank. Defaults to None (the whole loader).
        progressive (bool): With several RollingQueries (multi-layer fusion),
            rotate at most one per check (its rotation changes what later
            layers see): the triggered one rotated least so far, the first
            in model order among equals, so layers take turns from the first
            on. Defaults to True.
    """

    priority = 'NORMAL'  # before CheckpointHook, so the epoch's checkpoint has R

    def __init__(self,
                 beta: float = 0.,
                 sigma: float = 0.,
                 max_rotations: Optional[int] = None,
                 interval: int = 1,
                 stats: str = 'epoch',
                 air_from: str = 'epoch',
                 method: str = 'planar',
                 max_batches: Optional[int] = None,
                 progressive: bool = True):
        _check_choice('stats', stats, STATS_MODES)
        _check_choice('air_from', air_from, AIR_SOURCES)
        _check_choice('method', method, ROTATION_METHODS)
        if beta < 0 or sigma < 0:
            raise ValueError(f'beta ({beta}) and sigma ({sigma}) must be >= 0')
        if max_rotations is not None and max_rotations < 0:
            raise ValueError(f'max_rotations must be >= 0 or None, got '
                             f'{max_rotations}')
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if max_batches is not None and max_batches < 1:
            raise ValueError(f'max_batches must be >= 1 or None, got '
                             f'{max_batches}')
        self.beta = beta
        self.sigma = sigma
        self.max_rotations = max_rotations
        self.interval = interval
        self.stats = stats
        self.air_from = air_from
        self.method = method
        self.max_batches = max_batches
        self.progressive = progressive

    # ------------------------------------------------------------ helpers
    @staticmethod
    def find_queries(model: torch.nn.Module) -> List[Tuple[str, RollingQuery]]:
        """Every RollingQuery in ``model`` (unwrapped), in module order."""
        if is_model_wrapper(model):
            model = model.module
        return [(name, module) for name, module in model.named_modules()
                if isinstance(module, RollingQuery)]

    def _can_rotate(self, query: RollingQuery) -> bool:
        return (self.max_rotations is None
                or int(query.num_rotations) < self.max_rotations)

    @staticmethod
    def _reduced(query: RollingQuery) -> Optional[Dict[str, torch.Tensor]]:
        """The query's sums, all-reduced across ranks, in float64."""
        stats = query.statistics()
        if stats is None:
            return None
        flat = torch.cat([v.reshape(-1).double() for v in stats.values()])
        all_reduce(flat, op='sum')
        out, start = {}, 0
        for key, value in stats.items():
            out[key] = flat[start:start + value.numel()].view(value.shape)
            start += value.numel()
        return out

    def _cosines(self, sums: Dict[str, torch.Tensor]) -> torch.Tensor:
        if self.air_from == 'last_batch':
            return sums['last_cos_sum'] / sums['last_count']
        return sums['cos_sum'] / sums['count']

    def _set_collecting(self, runner, flag: bool) -> None:
        for _, query in self.find_queries(runner.model):
            query.collecting = flag

    # -------------------------------------------------------------- hooks
    def before_train_epoch(self, runner) -> None:
        queries = self.find_queries(runner.model)
        if not queries:
            raise RuntimeError(
                'RollingQHook found no RollingQuery in the model; use a neck '
                'with rolling=True (e.g. AttentionFusion) or remove the hook')
        for _, query in queries:
            query.reset_statistics()
            query.collecting = True

    def after_train_epoch(self, runner) -> None:
        queries = self.find_queries(runner.model)
        self._set_collecting(runner, False)
        if not self.every_n_epochs(runner, self.interval):
            return
        decisions = []
        for name, query in queries:
            sums = self._reduced(query)
            if sums is None or sums['count'] == 0:
                runner.logger.warning(
                    f'RollingQ: {name or "model"} saw no batch this epoch; '
                    'skipping its check')
                continue
            if not torch.isfinite(self._cosines(sums)).all():
                runner.logger.warning(
                    f'RollingQ: {name or "model"} has non-finite statistics '
                    '(NaN/inf in the fusion\'s queries or keys); skipping its '
                    'check this epoch')
                continue
            decisions.append(dict(name=name, query=query, sums=sums))

        wanted = [
            d for d in decisions
            if exceeds_threshold(self._cosines(d['sums']), self.beta)
            and self._can_rotate(d['query'])
        ]
        if self.progressive:
            # the least-rotated layer first, model order among equals
            wanted = sorted(wanted, key=lambda d: int(d['query'].num_rotations))
            wanted = wanted[:1]
        if wanted and self.stats == 'pass':
            self._statistics_pass(runner, [d['query'] for d in wanted])
        for decision in decisions:
            rotate = any(decision is d for d in wanted)
            self._check(runner, rotate=rotate, multiple=len(queries) > 1,
                        **decision)

    def _check(self, runner, name: str, query: RollingQuery,
               sums: Dict[str, torch.Tensor], rotate: bool,
               multiple: bool) -> None:
        """Log one query's imbalance and rotate it if asked.

        ``sums`` are the training-epoch sums that decided the trigger; with
        ``stats='pass'`` the anchor statistics are re-read after the pass.
        """
        cosines = self._cosines(sums)
        air = float(imbalance_rate(cosines))
        weights = modality_weights(cosines, self.sigma)
        rotated, reason = False, ''
        if rotate:
            if self.stats == 'pass':
                sums = self._reduced(query)
            rotated, reason = self._rotate(query, weights, sums)
        query.append_history(runner.epoch + 1, air, rotated, cosines, weights)
        record = query.history[-1]

        prefix = f'rollingq/{name}/' if multiple else 'rollingq/'
        scalars = {f'{prefix}air': air, f'{prefix}rotated': float(rotated),
                   f'{prefix}num_rotations': float(query.num_rotations)}
        for m in query.modalities:
            scalars[f'{prefix}cos_{m}'] = record['cos'][m]
            scalars[f'{prefix}weight_{m}'] = record['weights'][m]
        runner.visualizer.add_scalars(scalars, step=runner.epoch + 1)
        for key, value in scalars.items():
            runner.message_hub.update_info(key, value)
        text = ', '.join(f'{k.split("/")[-1]}: {v:.4f}'
                         for k, v in scalars.items())
        event = (f' -> ROTATED (rotation #{int(query.num_rotations)})'
                 if rotated else reason)
        log = runner.logger.warning if reason else runner.logger.info
        log(f'RollingQ {name or ""} epoch {record["epoch"]}: {text}{event}')

    def _rotate(self, query: RollingQuery, weights: torch.Tensor,
                sums: Optional[Dict[str, torch.Tensor]]) -> Tuple[bool, str]:
        """Rotate ``query`` toward the anchor from its reduced sums."""
        if sums is None or sums['count'] == 0:
            return False, ' -> rotation skipped: no statistics'
        mean_query = sums['query_sum'] / sums['count']
        mean_keys = sums['key_sum'] / sums['count']
        try:
            anchor = anchor_query(mean_query, mean_keys, weights,
                                  query.modalities)
            rotation = rotation_between(mean_query, anchor, self.method)
        except ValueError as error:
            return False, f' -> rotation skipped: {error}'
        rotation = rotation.to(query.rotation.device, query.rotation.dtype)
        # Every rank computed the same R from the same reduced sums; the
        # broadcast makes that bit-exact even across heterogeneous devices.
        broadcast(rotation, src=0)
        query.rotate(rotation)
        return True, ''

    @torch.no_grad()
    def _statistics_pass(self, runner, queries: List[RollingQuery]) -> None:
        """The paper's extra no-grad eval-mode pass over the training data."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        loader = runner.train_dataloader
        total = len(loader) if self.max_batches is None else min(
            len(loader), self.max_batches)
        for query in queries:
            query.reset_statistics(keep_last_batch=True)
            query.collecting = True
        was_training = model.training
        model.eval()
        progress = ProgressBar(total) if is_main_process() else None
        for index, data in enumerate(loader):
            if index >= total:
                break
            data = model.data_preprocessor(data, False)
            model(**data, mode='tensor')
            if progress is not None:
                progress.update()
        if progress is not None:
            print()
        model.train(was_training)
        for query in queries:
            query.collecting = False


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'RollingQHook: {name}={value!r} is not one of '
                         f'{choices}')
