"""Datasets whose random draws are a function of (seed, epoch, sample)."""
from typing import Optional

from rollingq_mm.utils.random_streams import (preserved_random_state,
                                              seed_global_generators)
from .samplers import SampleKey


class SeededSamplesMixin:
    """Draw each sample's random numbers from its own streams.

    Mixed into an mmengine ``BaseDataset``. Given a :class:`SampleKey`
    (from :class:`SeededSampler`), the pipeline's ``i``-th transform runs
    with Python's, NumPy's global and torch's CPU generator seeded by
    (seed, epoch, sample index, i): the same kinds of draws as before (the
    authors' ``np.random.choice``, torchvision's crops and flips), from
    another generator, and the same in every worker and after a resume.
    Adding a transform does not change the draws of the others. The
    generators are restored afterwards, so in the main process
    (``num_workers=0``) loading draws nothing from training's streams.

    A plain ``int`` index (another sampler, a test-mode loader, an analysis
    tool) loads the sample as mmengine does, from the global generators.
    """

    def __getitem__(self, idx):
        if not isinstance(idx, SampleKey):
            return super().__getitem__(idx)
        # BaseDataset's retry after a dropped sample (_rand_another) draws
        # from the global generators too: inside the block, so seeded.
        with preserved_random_state():
            seed_global_generators((idx.seed, idx.epoch, int(idx)))
            return super().__getitem__(idx)

    def prepare_data(self, idx) -> Optional[dict]:
        """The sample after the pipeline; one stream per transform for a
        :class:`SampleKey`.

        Args:
            idx (int | SampleKey): The index.

        Returns:
            dict | None: The pipeline's output (None if a transform dropped
            the sample).
        """
        results = self.get_data_info(int(idx))
        if not isinstance(idx, SampleKey):
            return self.pipeline(results)
        for position, transform in enumerate(self.pipeline.transforms):
            seed_global_generators((idx.seed, idx.epoch, int(idx), position))
            results = transform(results)
            if results is None:
                return None
        return results
