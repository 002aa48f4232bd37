"""RunSummaryHook: a short summary of a training run at its end."""
import os.path as osp
from typing import List

from mmengine.hooks import Hook

from rollingq_mm.models.rollingq import find_rolling_queries
from rollingq_mm.registry import HOOKS


@HOOKS.register_module()
class RunSummaryHook(Hook):
    """Log, at the end of training, what a researcher looks up first.

    The best and the last validation metrics, the RollingQ rotations done
    and when, the final AIR and attention shares, and where the checkpoints,
    the scalars and the plotting command are. Our ``default_runtime`` turns
    it on.

    Args:
        metrics (list[str]): Validation metrics to show (those present).
            Defaults to top-1, macro-F1 and the per-modality probes.
    """

    priority = 'LOWEST'

    def __init__(self,
                 metrics: List[str] = ('accuracy/top1',
                                       'single-label/f1-score',
                                       'modality_accuracy/audio',
                                       'modality_accuracy/visual')):
        self.metrics = list(metrics)

    def after_run(self, runner) -> None:
        loop = getattr(runner, '_train_loop', None)
        if loop is None or isinstance(loop, dict) or runner.iter == 0:
            return  # not a training run
        lines = [
            f'Summary of {runner.experiment_name} '
            f'({runner.epoch} epochs, {runner.iter} iterations):'
        ]
        lines += self._metric_lines(runner)
        lines += self._rollingq_lines(runner)
        lines.append(f'  checkpoints: {runner.work_dir}')
        if getattr(runner.visualizer, '_vis_backends', None):
            lines.append('  scalars: ' +
                         osp.join(runner.log_dir, 'vis_data', 'scalars.json'))
        lines.append('  plots: python tools/analysis_tools/plot_dynamics.py '
                     f'{runner.work_dir}')
        runner.logger.info('\n'.join(lines))

    def _metric_lines(self, runner) -> List[str]:
        hub = runner.message_hub
        lines = []
        best, best_ckpt = hub.get_info('best_score'), hub.get_info('best_ckpt')
        if best is not None:
            lines.append(f'  best validation score: {best:.4f} '
                         f'({best_ckpt})')
        last = []
        for name in self.metrics:
            key = f'val/{name}'
            if key in hub.log_scalars:
                last.append(f'{name} {hub.log_scalars[key].current():.4f}')
        if last:
            lines.append('  last validation: ' + ', '.join(last))
        return lines

    @staticmethod
    def _rollingq_lines(runner) -> List[str]:
        from .rollingq_hook import RollingQHook
        hooks = [h for h in runner.hooks if isinstance(h, RollingQHook)]
        if not hooks:
            return []
        lines = []
        for name, query, _ in find_rolling_queries(runner.model):
            history = hooks[0].history.get(name)
            if not history:
                continue
            epochs = [check.epoch for check in history if check.rotated]
            last = history[-1]
            shares = ', '.join(f'{m} {v:.3f}' for m, v in last.shares.items())
            lines.append(
                f'  RollingQ {name}: {int(query.num_rotations)} rotation(s) '
                f'at epoch(s) {epochs}; last AIR {last.air:.4f} (epoch '
                f'{last.epoch}), CLS attention share {shares}')
        return lines
