"""DDP on CPU for a Runner, and the release of the process group it made."""
import atexit

import torch


class CpuDistributedMixin:
    """Distributed on CPU: without a GPU, a ``--launcher pytorch`` run
    (torchrun, mmpretrain's ``tools/dist_train.sh``) joins a gloo process
    group and wraps the model in DDP without ``device_ids``, which mmengine
    does not do on its own (its ``init_dist`` calls ``torch.cuda``) — but
    not on a machine whose GPUs CUDA cannot use (see
    :func:`check_no_gpu_is_hidden`). Once a ``train``, ``val`` or ``test``
    has finished, the group made for this run (gloo here, or NCCL by
    mmengine's ``init_dist``) is released at interpreter exit (see
    :func:`release_process_group`).
    """

    def __init__(self, *args, **kwargs):
        self._made_process_group = False  # set by setup_env, in __init__
        super().__init__(*args, **kwargs)

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's, after joining a gloo group for DDP on CPU.

        The group made here (gloo) or by mmengine's ``init_dist`` inside it
        (NCCL on GPUs) is released once a loop has finished.
        """
        import torch.distributed as dist
        had_group = dist.is_available() and dist.is_initialized()
        if self.launcher != 'none' and not torch.cuda.is_available():
            check_no_gpu_is_hidden()
            if self.launcher == 'pytorch' and not had_group:
                # then mmengine skips its CUDA-only init_dist
                dist.init_process_group(backend='gloo')
        super().setup_env(env_cfg)
        self._made_process_group = not had_group and dist.is_available() \
            and dist.is_initialized()

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


def check_no_gpu_is_hidden() -> None:
    """Refuse a distributed run on CPU on a machine that has NVIDIA GPUs.

    Where CUDA fails to initialise (a driver / CUDA mismatch, a container
    without the GPU runtime), ``torch.cuda.is_available()`` is False and the
    run would otherwise go on with gloo on the CPU, hundreds of times
    slower, without a word. ``CUDA_VISIBLE_DEVICES=''`` asks for the CPU on
    purpose.

    Raises:
        RuntimeError: NVIDIA devices are present but CUDA is unusable.
    """
    import os
    if os.environ.get('CUDA_VISIBLE_DEVICES') in ('', '-1'):
        return
    devices = [
        path for path in ('/dev/nvidiactl', '/dev/nvidia0')
        if os.path.exists(path)
    ]
    if not devices:
        return
    raise RuntimeError(
        f'this machine has NVIDIA devices ({", ".join(devices)}) but torch '
        f'cannot use CUDA (torch {torch.__version__}, built for CUDA '
        f'{torch.version.cuda}); check the driver with nvidia-smi and that '
        "torch's CUDA build matches it. To train on the CPU on purpose, "
        "set CUDA_VISIBLE_DEVICES=''")


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
