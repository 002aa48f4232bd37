from .attention_fusion import AttentionFusion, FusionTransformerLayer
from .projection import ModalityProjection
from .static_fusion import ConcatFusion, SumFusion

__all__ = [
    'AttentionFusion', 'FusionTransformerLayer', 'ModalityProjection',
    'ConcatFusion', 'SumFusion'
]
