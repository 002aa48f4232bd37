"""Test-only components that draw from the global random generators, as
the authors' loaders and many user hooks do: without them an exact-resume
or worker-count test could pass with the random-state handling removed."""
import random

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.hooks import Hook

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import HOOKS, TRANSFORMS


@TRANSFORMS.register_module()
class GlobalRandomJitter(BaseTransform):
    """Add noise drawn from NumPy's, Python's and torch's global generators
    to ``key`` (a training augmentation in the authors' style)."""

    def __init__(self, key: str = 'audio', scale: float = 0.3):
        self.key = key
        self.scale = scale

    def transform(self, results: dict) -> dict:
        x = results[self.key]
        noise = np.random.standard_normal(x.shape).astype(np.float32)
        noise += np.float32(random.gauss(0, 1))
        noise += torch.rand(()).item()
        results[self.key] = x + self.scale * noise
        return results


@HOOKS.register_module()
class MainProcessDrawsHook(Hook):
    """After every training iteration, nudge the head's weights by numbers
    drawn from NumPy's, Python's and torch's global generators in the main
    process."""

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        weight = next(unwrap_model(runner.model).head.parameters())
        with torch.no_grad():
            weight.flatten()[0] += 1e-3 * (
                np.random.standard_normal() + random.gauss(0, 1) + torch.randn(
                    ()).item())


@HOOKS.register_module()
class KillDuringCheckpointWriteHook(Hook):
    """SIGKILL this process half-way through writing the checkpoint of
    epoch ``epoch``: half of its bytes are on disk, as after a pre-emption
    in the middle of the write."""

    priority = 'LOWEST'

    def __init__(self, epoch: int):
        self.epoch = epoch

    def before_train_epoch(self, runner) -> None:
        # armed for the first write of the epoch: its checkpoint
        if runner.epoch + 1 != self.epoch:
            return
        import os
        import signal

        from mmengine.fileio.backends import LocalBackend

        def put_half_and_die(backend, obj, filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
                os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        LocalBackend.put = put_half_and_die
