from .attention_share import AttentionShare
from .grouped_accuracy import GroupedAccuracy
from .modality_accuracy import ModalityAccuracy

__all__ = ['AttentionShare', 'GroupedAccuracy', 'ModalityAccuracy']
