"""Compile a model's encoders for mmengine's ``compile`` switch."""
from mmengine.runner import Runner

from rollingq_mm.models.rollingq import unwrap_model


class EncoderCompileMixin:
    """mmengine's own ``compile`` key (``True`` or the keyword arguments of
    ``torch.compile``; ``tools/train.py --compile``) is the one compile
    switch. Where mmengine compiles the whole ``train_step``, this compiles
    the model's encoders in place (default ``dynamic=True``, so one graph
    serves every batch size, and the train- and eval-mode graphs are each
    compiled once): the fusion neck stays eager, because RollingQHook adds
    forward hooks to it for some batches and a compiled fusion would
    recompile each time. ``targets`` (default ``['encoders']``) names other
    sub-modules to compile, e.g. ``['encoders', 'neck']`` without the hook.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg.get('compile') and not callable(
                getattr(Runner, '_maybe_compile', None)):
            raise RuntimeError(
                'this mmengine version has no Runner._maybe_compile, through '
                'which the runner compiles the encoders; unset compile or '
                'use mmengine 0.10')

    def _maybe_compile(self, target: str) -> None:
        """Compile the encoders for mmengine's ``compile`` (see the class
        doc); mmengine calls this with ``'train_step'`` before training."""
        options = self.cfg.get('compile')
        if not options:
            return
        options = {} if options is True else dict(options)
        compile_submodules(unwrap_model(self.model), options, self.logger)


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
    balancer = getattr(model, 'balancer', None)
    if getattr(balancer, 'retains_graph', False):
        # AOTAutograd donates the saved tensors of a compiled backward,
        # which then refuses a second pass (retain_graph=True: MMPareto's
        # per-loss gradients). The setting is read when a graph compiles,
        # at the first forward, so it is set for this process here.
        import torch._functorch.config as functorch_config
        functorch_config.donated_buffer = False
        if logger is not None:
            logger.info(f'torch.compile: donated buffers off, '
                        f'{type(balancer).__name__} differentiates the '
                        'encoders more than once per step')
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
