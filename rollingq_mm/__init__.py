"""rollingq_mm: RollingQ (ICML 2025) for OpenMMLab.

``import rollingq_mm`` is cheap: the subpackages (``models``, ``engine``,
``datasets``, ...) load on first use, and the registries load when a config
builds something in the ``rollingq_mm`` scope (``default_scope`` or a
``rollingq_mm.X`` type), importing our components from their locations. See
``registry.py``.
"""
import importlib

from .version import __version__

_SUBPACKAGES = ('datasets', 'engine', 'evaluation', 'models', 'ops',
                'registry', 'utils')

__all__ = ['__version__', *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
