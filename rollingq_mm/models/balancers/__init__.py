from .agm import AGM
from .amco import AMCo
from .base import BalanceContext, BaseBalancer
from .cml import CML
from .dgl import DGL
from .gblending import GBlending
from .inforeg import InfoReg
from .lfm import LFM
from .mbsd import MBSD
from .mla import MLA
from .mmcosine import MMCosine
from .mmpareto import MMPareto, pareto_weight
from .ogm_ge import OGMGE
from .opm import OPM
from .pmr import PMR
from .reconboost import ReconBoost
from .relearning import ReLearning
from .umt import UMT
from .unimodal_logits import UnimodalLogits
from .valuation import ModalityValuation, SampleValuation

__all__ = [
    'AGM', 'BalanceContext', 'BaseBalancer', 'CML', 'DGL', 'GBlending',
    'InfoReg', 'MBSD', 'MLA', 'MMCosine', 'MMPareto', 'OGMGE', 'OPM', 'PMR',
    'ReconBoost', 'ReLearning', 'SampleValuation', 'ModalityValuation',
    'UMT', 'LFM', 'AMCo',
    'UnimodalLogits', 'pareto_weight'
]
