"""A cosine schedule whose last step runs at ``eta_min``."""
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

    Args: as ``mmengine.optim.CosineAnnealingLR``.
    """

    def __init__(self, optimizer, *args, T_max=None, **kwargs):
        super().__init__(optimizer, *args, T_max=T_max, **kwargs)
        if T_max is None:
            self.T_max = max(1, self.end - self.begin - 1)
