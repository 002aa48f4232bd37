"""PlainCheckpointHook: checkpoints that any safe loader reads."""
from mmengine.hooks import Hook

from rollingq_mm.registry import HOOKS
from rollingq_mm.utils.checkpoint import plain_containers


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Write checkpoints of tensors and plain containers only.

    mmengine's checkpoints hold its ``HistoryBuffer`` objects (in the
    message hub) and numpy scalars and arrays; ``torch.load`` refuses them
    by default since torch 2.6 (``weights_only=True``), so mmengine's own
    loader could not read ours: ``init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='encoders.audio.')`` (a two-stage recipe) or
    another project's ``load_from``. This hook, the last to see a
    checkpoint before it is written, turns the message hub and the meta
    into plain containers (:func:`~rollingq_mm.utils.checkpoint.
    plain_containers`); our loader turns the history back into
    ``HistoryBuffer`` objects for ``--resume``. Our ``default_runtime`` turns
    it on.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = plain_containers(checkpoint[key])
