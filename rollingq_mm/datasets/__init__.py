from .array_dataset import InMemoryMultimodalDataset, MultimodalArrayDataset
from .synthetic import SyntheticMultimodal
from .transforms import PackMultimodalInputs

__all__ = [
    'InMemoryMultimodalDataset', 'MultimodalArrayDataset',
    'SyntheticMultimodal', 'PackMultimodalInputs'
]
