"""rollingq_mm: RollingQ (ICML 2025) for OpenMMLab.

``import rollingq_mm`` is cheap: the subpackages (``models``, ``engine``,
``datasets``, ...) load on first use, and the registries load when a config
builds something in the ``rollingq_mm`` scope (``default_scope`` or a
``rollingq_mm.X`` type), importing our components from their locations. See
``registry.py``.

``rollingq_mm.X`` also resolves as an attribute of the package (the first
use imports the registries and the component's subpackage): mmengine falls
back to that when a registry outside our scope tree meets a ``rollingq_mm.X``
type — e.g. mmpretrain's ``tools/train.py``, which builds the config's
``runner_type`` from mmengine's root registry before any default scope is
set, or a config without ``default_scope``.
"""
import importlib

from .version import __version__

_SUBPACKAGES = ('datasets', 'engine', 'evaluation', 'models', 'ops',
                'registry', 'utils')

__all__ = ['__version__', *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f'{__name__}.{name}')
    # Component names are CamelCase; anything else (``__wrapped__``, probes
    # of tools) fails at once instead of importing the registries.
    if name[:1].isupper():
        component = importlib.import_module(
            f'{__name__}.registry').find_component(name)
        if component is not None:
            return component
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
