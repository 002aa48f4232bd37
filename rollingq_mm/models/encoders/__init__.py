from .sequence_encoder import SequenceEncoder
from .timm_encoder import TimmEncoder

__all__ = ['SequenceEncoder', 'TimmEncoder']
