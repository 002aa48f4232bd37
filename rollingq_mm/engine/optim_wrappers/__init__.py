from .balanced import (BalancedAmpOptimWrapper, BalancedOptimWrapper,
                       BalancedUpdateMixin)
from .precision import amp_settings, native_amp_dtype

__all__ = [
    'BalancedAmpOptimWrapper', 'BalancedOptimWrapper', 'BalancedUpdateMixin',
    'amp_settings', 'native_amp_dtype'
]
