from .attention import RollingQAttention
from .classifiers import MultimodalClassifier
from .data_preprocessors import MultimodalDataPreprocessor
from .encoders import BackboneEncoder, SequenceEncoder, TimmEncoder
from .necks import AttentionFusion, ConcatFusion, SumFusion
from .rollingq import RollingQuery
from .teachers import FrozenTeacher

__all__ = [
    'RollingQAttention', 'MultimodalClassifier', 'MultimodalDataPreprocessor',
    'BackboneEncoder', 'SequenceEncoder', 'TimmEncoder', 'AttentionFusion',
    'ConcatFusion', 'SumFusion', 'RollingQuery', 'FrozenTeacher'
]
