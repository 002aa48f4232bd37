from .hooks import DivergenceHook, PreflightHook, RollingQHook, RunSummaryHook
from .runner import RollingQRunner
from .schedulers import CosineAnnealingToEndLR

__all__ = [
    'DivergenceHook', 'PreflightHook', 'RollingQHook', 'RunSummaryHook',
    'RollingQRunner', 'CosineAnnealingToEndLR'
]
