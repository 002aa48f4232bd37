"""Child registries of mmpretrain's, with scope ``rollingq_mm``.

A config with ``default_scope='rollingq_mm'`` builds both our components and
mmpretrain's (``LinearClsHead``, ``Accuracy``, ...): a lookup that misses in a
child falls back to its parent. Every mmpretrain registry has a child here,
because the runner builds visualizers, loops, log processors, ... through the
default scope too.

Importing this module registers mmpretrain's modules up front: a child
registry's fallback to its parent does not trigger the parent's lazy imports.
Our own components are imported from each registry's ``locations`` the first
time something is looked up in it. :func:`find_component` finds one by name
for ``rollingq_mm.X`` lookups from outside our scope tree (see the package's
``__getattr__``).
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry
from mmpretrain.utils import register_all_modules

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'TOKENIZER', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS',
    'find_component'
]


def _child(name: str, location: str = None) -> Registry:
    parent = getattr(mmpretrain_registry, name)
    locations = [f'rollingq_mm.{location}'] if location else []
    return Registry(
        parent.name, parent=parent, scope='rollingq_mm', locations=locations)


RUNNERS = _child('RUNNERS', 'engine')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS', 'engine')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS', 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS', 'engine')
DATASETS = _child('DATASETS', 'datasets')
DATA_SAMPLERS = _child('DATA_SAMPLERS', 'datasets')
TRANSFORMS = _child('TRANSFORMS', 'datasets')
MODELS = _child('MODELS', 'models')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
BATCH_AUGMENTS = _child('BATCH_AUGMENTS')
TASK_UTILS = _child('TASK_UTILS')
TOKENIZER = _child('TOKENIZER')
METRICS = _child('METRICS', 'evaluation')
EVALUATORS = _child('EVALUATORS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')

register_all_modules(init_default_scope=False)


def find_component(name: str):
    """Our component registered as ``name`` in any of our registries.

    Only our own registrations count (not mmpretrain's, which our registries
    fall back to). A registry imports its ``locations`` when first searched.

    Args:
        name (str): A registered name without scope, e.g. ``'RollingQRunner'``.

    Returns:
        type | None: The registered class (or function), None if no registry
        of ours has ``name``.
    """
    for registry in (globals()[key] for key in __all__ if key.isupper()):
        registry.import_from_location()
        if name in registry.module_dict:
            return registry.module_dict[name]
    return None
