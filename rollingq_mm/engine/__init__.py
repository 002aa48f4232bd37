from .hooks import (BalanceHook, DivergenceHook, ExactResumeHook,
                    PlainCheckpointHook, PreflightHook, RollingQHook,
                    RunSummaryHook, StatisticsCollector)
from .loops import BalancedTrainLoop
from .optim_wrappers import BalancedAmpOptimWrapper, BalancedOptimWrapper
from .runner import RobustRunner, RollingQRunner
from .schedulers import CosineAnnealingToEndLR

__all__ = [
    'BalanceHook', 'BalancedOptimWrapper', 'BalancedTrainLoop',
    'BalancedAmpOptimWrapper', 'DivergenceHook', 'ExactResumeHook',
    'PlainCheckpointHook', 'PreflightHook', 'RollingQHook', 'RunSummaryHook',
    'StatisticsCollector', 'RobustRunner', 'RollingQRunner',
    'CosineAnnealingToEndLR'
]
