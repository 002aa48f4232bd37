from .balanced import (BalancedAmpOptimWrapper, BalancedOptimWrapper,
                       BalancedUpdateMixin)

__all__ = [
    'BalancedAmpOptimWrapper', 'BalancedOptimWrapper', 'BalancedUpdateMixin'
]
