from .attention_fusion import AttentionFusion, FusionTransformerLayer
from .base import XAVIER_INIT, BaseFusion
from .projection import ModalityProjection
from .static_fusion import ConcatFusion, LinearFusion, SumFusion

__all__ = [
    'AttentionFusion', 'BaseFusion', 'XAVIER_INIT', 'FusionTransformerLayer',
    'ModalityProjection', 'ConcatFusion', 'LinearFusion', 'SumFusion'
]
