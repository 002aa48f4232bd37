"""CheckpointedHook: the one way a hook's state travels in checkpoints."""
from typing import Optional

from mmengine.hooks import Hook

from rollingq_mm.utils.checkpoint import is_resuming, meta_entry


class CheckpointedHook(Hook):
    """A hook whose state is written into ``checkpoint['meta'][META_KEY]``
    and read back on ``--resume``.

    Subclasses set :attr:`META_KEY` and implement :meth:`state_dict` /
    :meth:`load_state_dict` (plain containers and tensors, which
    ``torch.load(weights_only=True)`` reads). A ``load_from`` (fine-tuning
    from a checkpoint) starts a new run: the state is not restored. A resume
    from a checkpoint without the entry (an older release, another runtime)
    calls :meth:`state_missing`, which does nothing unless overridden.
    As mmengine's ``EMAHook``, the hook owns its state; the model keeps only
    what inference needs.
    """

    #: The key of the hook's state in a checkpoint's meta.
    META_KEY: str = ''

    def state_dict(self, runner) -> Optional[dict]:
        """The state to save, or None to save nothing this time."""
        raise NotImplementedError

    def load_state_dict(self, runner, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        raise NotImplementedError

    def state_missing(self, runner) -> None:
        """Called on a resume whose checkpoint has no state for this hook."""

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self.state_dict(runner)
        if state is not None:
            checkpoint.setdefault('meta', {})[self.META_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_resuming(runner):
            return
        state = meta_entry(checkpoint, self.META_KEY)
        if state is None:
            self.state_missing(runner)
        else:
            self.load_state_dict(runner, state)
