"""DDP on CPU for a Runner, and the release of the process group it made."""
import atexit

import torch


class CpuDistributedMixin:
    """Distributed on CPU: without a GPU, a ``--launcher pytorch`` run
    (torchrun, mmpretrain's ``tools/dist_train.sh``) joins a gloo process
    group and wraps the model in DDP without ``device_ids``, which mmengine
    does not do on its own (its ``init_dist`` calls ``torch.cuda``). Once a
    ``train``, ``val`` or ``test`` has finished, the group made here is
    released at interpreter exit (see :func:`release_process_group`).
    """

    def __init__(self, *args, **kwargs):
        self._made_process_group = False  # set by setup_env, in __init__
        super().__init__(*args, **kwargs)

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's, after joining a gloo group for DDP on CPU."""
        if self.launcher == 'pytorch' and not torch.cuda.is_available():
            import torch.distributed as dist
            if not dist.is_initialized():  # then mmengine skips init_dist
                dist.init_process_group(backend='gloo')
                self._made_process_group = True
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        """mmengine's; on CPU, DDP without ``device_ids`` by default."""
        if model_wrapper_cfg is None and self.distributed and \
                not torch.cuda.is_available():
            model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None)
        return super().wrap_model(model_wrapper_cfg, model)

    def train(self):
        """mmengine's; afterwards the group made here is released at exit."""
        model = super().train()
        self._release_process_group_at_exit()
        return model

    def val(self):
        """mmengine's; afterwards the group made here is released at exit."""
        metrics = super().val()
        self._release_process_group_at_exit()
        return metrics

    def test(self):
        """mmengine's; afterwards the group made here is released at exit."""
        metrics = super().test()
        self._release_process_group_at_exit()
        return metrics

    def _release_process_group_at_exit(self) -> None:
        # Only after a loop finished: releasing the group waits for its
        # queued collectives, which after an error could wait for a peer.
        if self._made_process_group:
            self._made_process_group = False
            atexit.register(release_process_group)


def release_process_group() -> None:
    """Destroy the default group and free it while the interpreter lives.

    mmengine never destroys the group. A gloo worker thread that drops the
    last reference to a collective's Python-owned tensors must take the GIL;
    if that happens once the interpreter is finalizing, the thread is
    stopped inside a C++ destructor and the process aborts ("terminate
    called without an active exception", SIGABRT) after a finished run.
    ``destroy_process_group`` alone leaves the group alive inside the DDP
    wrapper; collecting the finished runner's reference cycles frees it, and
    the group's destructor joins its worker threads.
    """
    import gc

    import torch.distributed as dist
    if dist.is_initialized():
        dist.destroy_process_group()
    gc.collect()
