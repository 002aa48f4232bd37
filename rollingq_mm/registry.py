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


def find_component(name: str, ancestors: bool = False):
    """The component registered as ``name``: the one registry search.

    Used for the package's ``rollingq_mm.X`` attributes and to check
    ``--cfg-options`` against the classes they configure. A registry imports
    its ``locations`` when first searched; an import error there (a broken
    module of ours, a missing optional package) reaches the caller as it is,
    not as "not in the registry".

    Args:
        name (str): A registered name, e.g. ``'RobustRunner'``, or with a
            scope prefix (``'rollingq_mm.X'``, ``'mmpretrain.X'``).
        ancestors (bool): Also search the registries' parents (mmpretrain's,
            mmengine's), as a config with ``default_scope='rollingq_mm'``
            does. Defaults to False (only our own registrations).

    Returns:
        type | None: The registered class (or function), None if not found.
    """
    scope, _, key = name.rpartition('.')
    if scope == 'rollingq_mm':
        ancestors = False
    elif scope:
        ancestors = True
    for registry in (globals()[entry] for entry in __all__ if entry.isupper()):
        registry.import_from_location()
        node = registry
        while node is not None:
            if (not scope or node.scope in (scope, 'rollingq_mm')) and \
                    key in node.module_dict:
                return node.module_dict[key]
            node = node.parent if ancestors else None
    return None
