"""A cosine schedule whose last step runs at ``eta_min``."""
import logging

from mmengine.logging import print_log
from mmengine.optim import CosineAnnealingLR

from rollingq_mm.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingToEndLR(CosineAnnealingLR):
    """mmengine's CosineAnnealingLR, reaching ``eta_min`` on its last step.

    mmengine's cosine spans ``T_max = end - begin`` steps, and ``end`` is
    exclusive, so the last iteration runs one step short of ``eta_min``
    (half-way there for a 2-step cosine). Without ``T_max`` this one spans
    ``end - begin - 1`` steps: the last iteration (or epoch) of the run uses
    ``eta_min``. Leave ``end`` out of the config and the runner sets it to
    ``train_cfg.max_epochs`` however that is set (config, inheritance,
    ``--cfg-options``), so the schedule always fits the run.

    A run that ends before the cosine begins (``train_cfg.max_epochs=1``
    with the paper's 2.5-epoch warm-up, the usual first smoke test) trains
    on the warm-up alone: the cosine never acts, and one warning says so.

    Args: as ``mmengine.optim.CosineAnnealingLR``.
    """

    def __init__(self, optimizer, *args, T_max=None, **kwargs):
        begin, end = kwargs.get('begin', 0), kwargs.get('end')
        self.never_starts = end is not None and end <= begin
        if self.never_starts:
            unit = 'epoch' if kwargs.get('by_epoch', True) else 'iteration'
            print_log(
                f'CosineAnnealingToEndLR begins at {unit} {begin} but the run '
                f'ends at {unit} {end}: the run ends inside the warm-up and '
                'the cosine phase never starts (train longer to reach it)',
                logger='current',
                level=logging.WARNING)
            kwargs['end'] = begin + 1  # a window the run never reaches
        super().__init__(optimizer, *args, T_max=T_max, **kwargs)
        if T_max is None:
            self.T_max = max(1, self.end - self.begin - 1)
