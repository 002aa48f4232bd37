from .base import BalanceContext, BaseBalancer
from .mmpareto import MMPareto, pareto_weight
from .ogm_ge import OGMGE
from .pmr import PMR

__all__ = [
    'BalanceContext', 'BaseBalancer', 'MMPareto', 'OGMGE', 'PMR',
    'pareto_weight'
]
