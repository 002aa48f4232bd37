"""RollingQRunner: mmengine's Runner with checkpoints that cannot go wrong
silently."""
import re

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from rollingq_mm.models.rollingq import unwrap_model
from rollingq_mm.registry import RUNNERS
from rollingq_mm.utils.checkpoint import check_fits, load_checkpoint_file


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

    Set by ``runner_type = 'RollingQRunner'`` (our ``default_runtime``);
    ``tools/train.py`` and ``tools/test.py`` add ``--non-strict`` and
    ``--trust-checkpoint``.

    ``model_compile = dict(...)`` (``tools/train.py --compile``) compiles the
    encoders in place with ``torch.compile`` (keys of ``nn.Module.compile``;
    default ``dynamic=True``, so one graph serves every batch size, and the
    train- and eval-mode graphs are each compiled once). The fusion neck
    stays eager: it is a small part of the step, and RollingQHook's forward
    hooks on it, added and removed every epoch, would make it recompile.
    ``targets`` names other sub-modules to compile (e.g. ``['encoders',
    'neck']`` for a model without the hook).

    Distributed on CPU: without a GPU, a ``--launcher pytorch`` run
    (torchrun, mmpretrain's ``tools/dist_train.sh``) joins a gloo process
    group and wraps the model in DDP without ``device_ids``, which mmengine
    does not do on its own (its ``init_dist`` calls ``torch.cuda``). Our
    ``tools/`` do the same before building the runner; this makes the host
    tools work too.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # mmengine re-formats the whole config (with yapf) into every
        # checkpoint's meta: 0.25 s a checkpoint, 7% of an AV-Digits epoch.
        # The config does not change during a run, so format it once.
        if type(self.cfg) is Config:
            object.__setattr__(self.cfg, '__class__', _TextCachedConfig)
        options = self.cfg.get('model_compile')
        if options:
            compile_submodules(
                unwrap_model(self.model), dict(options), self.logger)

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's, after joining a gloo group for DDP on CPU."""
        if self.launcher == 'pytorch' and not torch.cuda.is_available():
            import torch.distributed as dist
            if not dist.is_initialized():  # then mmengine skips init_dist
                dist.init_process_group(backend='gloo')
        super().setup_env(env_cfg)

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
        checkpoint = load_checkpoint_file(
            filename,
            map_location,
            trust=bool(self.cfg.get('trust_checkpoint', False)))
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        if self.cfg.get('load_strict', True):
            check_fits(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


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
            raise ValueError(f'model_compile: the model has no {target!r} '
                             'to compile')
        children = dict(module.items()) if hasattr(module, 'items') else {
            '': module
        }
        for name, child in children.items():
            child.compile(**options)
            compiled.append(f'{target}.{name}' if name else target)
    if logger is not None:
        logger.info(f'torch.compile({options}): {compiled}')
    return compiled


class _TextCachedConfig(Config):
    """A Config whose ``pretty_text`` is formatted once (a run's config)."""

    @property
    def pretty_text(self) -> str:
        text = self.__dict__.get('_pretty_text_cache')
        if text is None:
            text = Config.pretty_text.fget(self)
            object.__setattr__(self, '_pretty_text_cache', text)
        return text
