from .agm import AGM
from .base import BalanceContext, BaseBalancer
from .cml import CML
from .dgl import DGL
from .gblending import GBlending
from .inforeg import InfoReg
from .mbsd import MBSD
from .mmcosine import MMCosine
from .mmpareto import MMPareto, pareto_weight
from .ogm_ge import OGMGE
from .opm import OPM
from .pmr import PMR
from .unimodal_logits import UnimodalLogits

__all__ = [
    'AGM', 'BalanceContext', 'BaseBalancer', 'CML', 'DGL', 'GBlending',
    'InfoReg', 'MBSD', 'MMCosine', 'MMPareto', 'OGMGE', 'OPM', 'PMR',
    'UnimodalLogits', 'pareto_weight'
]
