from .seeded_sampler import SampleKey, SeededSampler

__all__ = ['SampleKey', 'SeededSampler']
