from .attention import RollingQAttention
from .classifiers import MultimodalClassifier
from .data_preprocessors import MultimodalDataPreprocessor
from .encoders import SequenceEncoder, TimmEncoder
from .necks import AttentionFusion, ConcatFusion, SumFusion
from .rollingq import RollingQuery

__all__ = [
    'RollingQAttention', 'MultimodalClassifier', 'MultimodalDataPreprocessor',
    'SequenceEncoder', 'TimmEncoder', 'AttentionFusion', 'ConcatFusion',
    'SumFusion', 'RollingQuery'
]
