from .seeded_sampler import SampleKey, SeededSampler
from .weighted_resampler import WeightedResampler

__all__ = ['SampleKey', 'SeededSampler', 'WeightedResampler']
