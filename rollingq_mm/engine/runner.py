"""RollingQRunner: mmengine's Runner with checkpoints that cannot go wrong
silently."""
import atexit
import re

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch.utils.data import DataLoader

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import RUNNERS
from rollingq_mm.utils.checkpoint import check_fits, load_checkpoint_file

# The default hooks mmengine registers itself; None removes one of them.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')


@RUNNERS.register_module()
class RollingQRunner(Runner):
    """A Runner whose checkpoint loading (``load_from``, ``--resume``,
    ``tools/test.py``) is safe and strict by default.

    Local checkpoints go through
    :func:`~rollingq_mm.utils.checkpoint.load_checkpoint_file`: the zip
    records' CRCs are checked, unpickling is restricted to the types an
    mmengine checkpoint holds, and NaN/inf weights are refused. Then the
    state dict must fit the model exactly (no missing, unexpected or
    mis-shaped key) unless the config says ``load_strict = False``.
    ``trust_checkpoint = True`` unpickles trusted files in full. Anything
    that is not a local path (a URL, ``open-mmlab://``) is left to mmengine.

    Set by ``runner_type = 'rollingq_mm.RollingQRunner'`` (our
    ``default_runtime``);
    ``tools/train.py`` and ``tools/test.py`` add ``--non-strict`` and
    ``--trust-checkpoint``.

    mmengine's own ``compile`` key (``True`` or the keyword arguments of
    ``torch.compile``; ``tools/train.py --compile``) is the one compile
    switch. Where mmengine compiles the whole ``train_step``, this runner
    compiles the model's encoders in place (default ``dynamic=True``, so one
    graph serves every batch size, and the train- and eval-mode graphs are
    each compiled once): the fusion neck stays eager, because RollingQHook
    adds forward hooks to it for some batches and a compiled fusion would
    recompile each time. ``targets`` (default ``['encoders']``) names other
    sub-modules to compile, e.g. ``['encoders', 'neck']`` without the hook.

    The config is formatted into every checkpoint's meta; this runner keeps
    mmengine's text without the yapf pass (mmengine's
    ``format_python_code=False``), whose cost per checkpoint is in
    docs/performance.md.

    Distributed on CPU: without a GPU, a ``--launcher pytorch`` run
    (torchrun, mmpretrain's ``tools/dist_train.sh``) joins a gloo process
    group and wraps the model in DDP without ``device_ids``, which mmengine
    does not do on its own (its ``init_dist`` calls ``torch.cuda``); our
    tools and the host tools both get this from the runner. Once a
    ``train``, ``val`` or ``test`` has finished, the group this runner
    made is released at interpreter exit (see ``_release_process_group``).
    """

    def __init__(self, *args, **kwargs):
        self._made_process_group = False  # set by setup_env, in __init__
        super().__init__(*args, **kwargs)
        if self.cfg.get('compile') and not callable(
                getattr(Runner, '_maybe_compile', None)):
            raise RuntimeError(
                'this mmengine version has no Runner._maybe_compile, through '
                'which RollingQRunner compiles the encoders; unset compile '
                'or use mmengine 0.10')
        # The same config, formatted without yapf from here on.
        self.cfg = Config(
            self.cfg.to_dict(),
            cfg_text=self.cfg.text,
            filename=self.cfg.filename,
            env_variables=self.cfg.env_variables,
            format_python_code=False)

    def _maybe_compile(self, target: str) -> None:
        """Compile the encoders for mmengine's ``compile`` (see the class
        doc); mmengine calls this with ``'train_step'`` before training."""
        options = self.cfg.get('compile')
        if not options:
            return
        options = {} if options is True else dict(options)
        compile_submodules(unwrap_model(self.model), options, self.logger)

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's, after joining a gloo group for DDP on CPU."""
        if self.launcher == 'pytorch' and not torch.cuda.is_available():
            import torch.distributed as dist
            if not dist.is_initialized():  # then mmengine skips init_dist
                dist.init_process_group(backend='gloo')
                self._made_process_group = True
        super().setup_env(env_cfg)

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
            atexit.register(_release_process_group)

    def register_default_hooks(self, hooks=None) -> None:
        """mmengine's, where any default hook set to None is left out.

        mmengine accepts None only for its own six defaults (``timer``,
        ``checkpoint``, ...) and fails an assertion for the others that our
        ``default_runtime`` adds (``exact_resume``, ``preflight``, ...).
        """
        if hooks is not None:
            hooks = {
                name: hook
                for name, hook in hooks.items()
                if hook is not None or name in MMENGINE_DEFAULT_HOOKS
            }
        super().register_default_hooks(hooks)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """mmengine's, as a :class:`OneDrawPerEpochLoader`."""
        loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        if type(loader) is DataLoader:
            loader.__class__ = OneDrawPerEpochLoader
        return loader

    def wrap_model(self, model_wrapper_cfg, model):
        """mmengine's; on CPU, DDP without ``device_ids`` by default."""
        if model_wrapper_cfg is None and self.distributed and \
                not torch.cuda.is_available():
            model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None)
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """Load ``filename`` into the model; see the class doc.

        ``strict`` (mmengine's argument, False when mmengine calls it) is
        ignored in favour of the config's ``load_strict`` (default True).
        """
        if re.match(r'^[a-z0-9+-]+://', str(filename)):
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)
        model = unwrap_model(self.model)
        checkpoint = load_checkpoint_file(
            filename,
            map_location,
            trust=bool(self.cfg.get('trust_checkpoint', False)),
            modalities=getattr(model, 'modalities', None))
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if self.cfg.get('load_strict', True):
            check_fits(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


class OneDrawPerEpochLoader(DataLoader):
    """A DataLoader that takes one number from its generator per epoch,
    whatever its workers.

    Creating a loader's iterator draws the workers' base seed from the
    loader's generator (torch's global one by default): every epoch with
    ``num_workers=0`` or non-persistent workers, only the first with
    persistent workers. Training's dropout and noise come from the same
    global generator, so without this a config trained with 8 persistent
    workers would draw other dropout masks from epoch 2 on than with 0
    workers. Here a persistent iterator that is reused draws the same one
    number, so the main process's streams do not depend on the workers.
    (The base seed itself no longer matters with
    :class:`~rollingq_mm.datasets.SeededSampler`: each sample reseeds.)
    """

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0 and \
                self._iterator is not None:
            torch.empty((),
                        dtype=torch.int64).random_(generator=self.generator)
        return super().__iter__()


def _release_process_group() -> None:
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


def compile_submodules(model, options: dict, logger=None) -> list:
    """``nn.Module.compile`` the ``targets`` of ``model`` in place.

    Args:
        model (nn.Module): The (unwrapped) model.
        options (dict): ``targets`` (default ``['encoders']``; each child of
            a ModuleDict target is compiled on its own) and the keyword
            arguments of ``torch.compile`` (default ``dynamic=True``).
        logger: For one line saying what was compiled.

    Returns:
        list[str]: The names of the compiled modules.
    """
    targets = options.pop('targets', ['encoders'])
    options.setdefault('dynamic', True)
    compiled = []
    for target in targets:
        module = getattr(model, target, None)
        if module is None:
            raise ValueError(f'compile: the model has no {target!r} to '
                             'compile; check compile.targets')
        children = dict(module.items()) if hasattr(module, 'items') else {
            '': module
        }
        for name, child in children.items():
            child.compile(**options)
            compiled.append(f'{target}.{name}' if name else target)
    if logger is not None:
        logger.info(f'torch.compile({options}): {compiled}')
    return compiled
