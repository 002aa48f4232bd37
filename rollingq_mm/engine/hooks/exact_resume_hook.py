"""ExactResumeHook: a resumed run continues the random streams it replaces."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook

from rollingq_mm.registry import HOOKS
from rollingq_mm.utils.checkpoint import is_resuming, meta_entry


def capture_random_state() -> dict:
    """This process's random generators as plain containers and tensors.

    Returns:
        dict: ``python`` (``random.getstate()``), ``numpy`` (the global
        MT19937 state, its key as a list), ``torch`` (CPU generator state)
        and ``cuda`` (one state per visible GPU; empty without CUDA).
    """
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    cuda = []
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state_all()
    return dict(
        python=random.getstate(),
        numpy=(kind, keys.tolist(), int(position), int(has_gauss),
               float(gauss)),
        torch=torch.get_rng_state(),
        cuda=cuda)


def restore_random_state(state: dict) -> None:
    """Set this process's generators to a :func:`capture_random_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state['numpy']
    np.random.set_state(
        (kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state['torch'].cpu())
    if state['cuda'] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


def _every_rank_state(validated: bool) -> dict:
    """Every rank's :func:`capture_random_state` (a collective), and whether
    a validation follows before training continues."""
    return dict(
        random_states=all_gather_object(capture_random_state()),
        validated=validated)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make ``--resume`` continue the run it replaces, random draws included.

    mmengine's resume restores the weights, the optimiser, the schedulers,
    the epoch and the message hub, and seeds the generators again from the
    seed, so dropout and augmentation draw other numbers after a resume than
    the interrupted run would have. This hook keeps the random streams:

    * after each training epoch (after the other hooks' work of the epoch,
      before CheckpointHook writes the epoch's checkpoint) and after each
      validation (before CheckpointHook writes a best checkpoint), it
      gathers the state of every generator of every rank — torch CPU and
      CUDA, NumPy's global one, Python's ``random`` — and writes the latest
      into the checkpoint's ``meta['exact_resume']`` as tensors and plain
      containers;
    * on ``--resume`` (not ``load_from``), after the other ``before_train``
      checks (which draw samples), it sets this rank's generators to the
      saved state. If the interrupted run validated after that checkpoint
      (an epoch's checkpoint is written before the epoch's validation), it
      then makes the draw that validation made: its loader's iterator
      takes one number from torch's generator when it is created.

    Exact (same weights after resume as without interruption, on the same
    machine and threads) for epoch-based training with ``num_workers=0`` or
    non-persistent workers, whose workers mmengine seeds from the seed each
    epoch, and a validation pipeline that draws no random number in the main
    process (test-mode pipelines do not; ours seed per sample). Persistent
    workers keep random streams in their own processes, which no checkpoint
    holds. Our ``default_runtime`` turns the hook on.
    """

    # after RollingQHook / BalanceHook (NORMAL), whose extra passes over the
    # training data draw numbers, and before CheckpointHook (VERY_LOW)
    priority = 'LOW'
    META_KEY = 'exact_resume'

    def __init__(self):
        self._latest: Optional[dict] = None
        self._to_restore: Optional[dict] = None

    def after_train_epoch(self, runner) -> None:
        # runner.epoch is the epoch just trained, 0-based, until the loop
        # counts it: the loop validates after epoch runner.epoch + 1 or not
        self._latest = _every_rank_state(
            validated=self._validates_after(runner, runner.epoch + 1))

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._latest is not None:  # validation inside a training run
            # a best checkpoint, written after this validation
            self._latest = _every_rank_state(validated=False)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._latest is None:
            return  # a checkpoint written outside a training epoch
        checkpoint.setdefault('meta', {})[self.META_KEY] = self._latest

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_resuming(runner):
            return
        saved = meta_entry(checkpoint, self.META_KEY)
        if saved is None:
            runner.logger.warning(
                'ExactResumeHook: the checkpoint holds no random states (an '
                'older release or another runtime); the resumed run draws '
                'from the seed, so it will not match the interrupted one '
                'exactly')
            return
        states = saved['random_states']
        if len(states) != get_world_size():
            runner.logger.warning(
                f'ExactResumeHook: the checkpoint holds the random states of '
                f'{len(states)} process(es) but this run has '
                f'{get_world_size()}; the random streams start from the seed')
            return
        self._to_restore = dict(saved, random_states=states[get_rank()])

    def before_train(self, runner) -> None:
        saved, self._to_restore = self._to_restore, None
        if saved is None:
            return
        restore_random_state(saved['random_states'])
        replay = saved['validated'] and runner.val_loop is not None
        if replay:
            iter(runner.val_loop.dataloader)  # the draw validation made
        runner.logger.info(
            'ExactResumeHook: random states restored (torch, CUDA, NumPy, '
            f'python) for rank {get_rank()}' +
            (', validation\'s draw replayed' if replay else ''))

    @staticmethod
    def _validates_after(runner, epoch: int) -> bool:
        """Whether the train loop validates after epoch ``epoch`` (1-based),
        by its own rule (mmengine's EpochBasedTrainLoop.run)."""
        loop = runner.train_loop
        if runner.val_loop is None or not hasattr(loop, 'val_begin'):
            return False
        return epoch >= loop.val_begin and (epoch % loop.val_interval == 0
                                            or epoch == loop.max_epochs)
