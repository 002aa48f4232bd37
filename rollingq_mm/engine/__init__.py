from .hooks import (BalanceHook, DivergenceHook, PreflightHook, RollingQHook,
                    RunSummaryHook)
from .optim_wrappers import BalancedAmpOptimWrapper, BalancedOptimWrapper
from .runner import RollingQRunner
from .schedulers import CosineAnnealingToEndLR

__all__ = [
    'BalanceHook', 'BalancedOptimWrapper', 'BalancedAmpOptimWrapper',
    'DivergenceHook', 'PreflightHook', 'RollingQHook', 'RunSummaryHook',
    'RollingQRunner', 'CosineAnnealingToEndLR'
]
