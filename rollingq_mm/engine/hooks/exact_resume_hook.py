"""ExactResumeHook: a resumed run continues the random streams it replaces."""
from typing import List, Optional

from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.runner import EpochBasedTrainLoop

from rollingq_mm.registry import HOOKS
from rollingq_mm.utils.random_streams import (capture_random_state,
                                              restore_random_state)
from .checkpointed_hook import CheckpointedHook


@HOOKS.register_module()
class ExactResumeHook(CheckpointedHook):
    """Make ``--resume`` continue the run it replaces, random draws included.

    mmengine's resume restores the weights, the optimiser, the schedulers,
    the epoch and the message hub, and seeds the generators again from the
    seed, so dropout and noise draw other numbers after a resume than the
    interrupted run would have. This hook keeps the random streams of the
    main processes; the data pipeline's draws are a function of (seed,
    epoch, sample) with :class:`~rollingq_mm.datasets.SeededSampler`, so
    workers, persistent or not, hold no state to keep.

    * **One snapshot per epoch.** After each training epoch (after the other
      hooks' work of the epoch, e.g. RollingQ's statistics pass, before
      CheckpointHook writes) it gathers every rank's generators — torch CPU,
      the current GPU's, NumPy's global one, Python's ``random`` — and puts
      them into the epoch's checkpoint and any best checkpoint written after
      the epoch's validation (``checkpoint['meta']['exact_resume']``).
    * **Validation is isolated.** During training, every generator is
      snapshot before a validation and restored after it, so training's
      streams never see what validation draws (a loader's iterator, a
      metric): the run continues from the epoch's snapshot whether it
      validated or not, and so does a resumed one.
    * **Restore.** On ``--resume`` (not ``load_from``), after the other
      ``before_train`` checks (which may load samples), this rank's
      generators are set to the saved state.

    Exact (same weights after resume as without interruption, on the same
    machine and number of processes) for epoch-based training. At start it
    warns where that cannot hold: an iteration-based loop (states are saved
    at epoch ends only), or a training loader with workers whose sampler is
    not SeededSampler (the pipeline then draws from each worker's
    generators, which no checkpoint holds). Our ``default_runtime`` turns
    the hook on.
    """

    # after RollingQHook / BalanceHook (NORMAL), whose extra passes over the
    # training data may draw numbers, and before CheckpointHook (VERY_LOW)
    priority = 'LOW'
    META_KEY = 'exact_resume'

    def __init__(self):
        self._epoch_states: Optional[List[dict]] = None
        self._before_validation: Optional[dict] = None
        self._to_restore: Optional[dict] = None
        self._training = False

    # ------------------------------------------------------------- state
    def state_dict(self, runner) -> Optional[dict]:
        if self._epoch_states is None:
            return None  # a checkpoint written outside a training epoch
        return dict(random_states=self._epoch_states)

    def load_state_dict(self, runner, state: dict) -> None:
        states = state['random_states']
        if len(states) != get_world_size():
            runner.logger.warning(
                f'ExactResumeHook: the checkpoint holds the random states of '
                f'{len(states)} process(es) but this run has '
                f'{get_world_size()}; the random streams start from the seed')
            return
        self._to_restore = states[get_rank()]

    def state_missing(self, runner) -> None:
        runner.logger.warning(
            'ExactResumeHook: the checkpoint holds no random states (an '
            'older release or another runtime); the resumed run draws from '
            'the seed, so it will not match the interrupted one exactly')

    # ----------------------------------------------------------- training
    def before_train(self, runner) -> None:
        self._training = True
        self._warn_where_inexact(runner)
        saved, self._to_restore = self._to_restore, None
        if saved is None:
            return
        restore_random_state(saved)
        runner.logger.info(
            'ExactResumeHook: random states restored (torch, CUDA, NumPy, '
            f'python) for rank {get_rank()}')

    def after_train_epoch(self, runner) -> None:
        self._epoch_states = all_gather_object(capture_random_state())

    def after_train(self, runner) -> None:
        self._training = False

    # --------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        if self._training:
            self._before_validation = capture_random_state()

    def after_val(self, runner) -> None:
        saved, self._before_validation = self._before_validation, None
        if saved is not None:
            restore_random_state(saved)

    # ------------------------------------------------------------- checks
    @staticmethod
    def _warn_where_inexact(runner) -> None:
        from rollingq_mm.datasets import SeededSampler
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            runner.logger.warning(
                f'ExactResumeHook: {type(runner.train_loop).__name__} is not '
                'epoch-based; random states are saved at epoch ends only, so '
                'a resumed run will not match the interrupted one exactly')
        loader = runner.train_dataloader
        if getattr(loader, 'num_workers', 0) > 0 and not isinstance(
                getattr(loader, 'sampler', None), SeededSampler):
            runner.logger.warning(
                f'ExactResumeHook: the training loader has '
                f'{loader.num_workers} workers and a '
                f'{type(loader.sampler).__name__}: the pipeline draws from '
                'the workers\' generators, which no checkpoint holds, so a '
                'resumed run (and a run with another num_workers) will not '
                "match exactly; use sampler=dict(type='SeededSampler')")
