"""rollingq_mm: RollingQ (ICML 2025) for OpenMMLab.

Importing the package registers its components in the ``rollingq_mm``
registries (children of mmpretrain's), registers mmpretrain's own modules so
that a ``default_scope='rollingq_mm'`` config reaches both, and installs a
local checkpoint loader that works on torch >= 2.6 (see ``utils/checkpoint``).
"""
from mmpretrain.utils import register_all_modules

from .version import __version__

# A child registry's fallback to its parent does not trigger the parent's
# lazy imports, so mmpretrain's modules are registered up front.
register_all_modules(init_default_scope=False)

from . import datasets, engine, evaluation, models, ops, utils  # noqa: E402

__all__ = [
    '__version__', 'datasets', 'engine', 'evaluation', 'models', 'ops', 'utils'
]
