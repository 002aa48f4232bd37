from .array_dataset import InMemoryMultimodalDataset, MultimodalArrayDataset
from .clip_dataset import AudioVisualClipDataset
from .cmu_mosei import CMUMOSEI
from .cremad import CremaD
from .kinetics_sounds import KineticsSounds
from .samplers import SampleKey, SeededSampler, WeightedResampler
from .seeded_samples import SeededSamplesMixin
from .synthetic import SyntheticMultimodal
from .transforms import *  # noqa: F401,F403

__all__ = [
    'InMemoryMultimodalDataset', 'MultimodalArrayDataset', 'CMUMOSEI',
    'AudioVisualClipDataset', 'CremaD', 'KineticsSounds',
    'SyntheticMultimodal', 'SampleKey', 'SeededSampler', 'SeededSamplesMixin',
    'WeightedResampler'
]
