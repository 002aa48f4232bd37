"""A test-only hook: stop training after an epoch, as an interruption."""
from mmengine.hooks import Hook

from rollingq_mm.registry import HOOKS


@HOOKS.register_module()
class InterruptAfterEpochHook(Hook):
    """End the run after ``epoch`` epochs (its checkpoint and validation
    done), as if the job had been killed there."""

    priority = 'LOWEST'

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_val_epoch(self, runner, metrics=None) -> None:
        if runner.epoch >= self.epoch:
            runner.train_loop.stop_training = True
