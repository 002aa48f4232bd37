"""Datasets whose random draws are a function of (seed, epoch, sample)."""
from typing import List, Optional, Sequence

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
    Appending a transform does not change the draws of the ones before it.
    A transform whose class sets ``draws_random = False`` (it draws
    nothing, e.g. ``PackMultimodalInputs``) runs without reseeding.

    The generators are restored after a sample, or after a whole batch when
    the DataLoader asks for one (``__getitems__``), so in the main process
    (``num_workers=0``) loading draws nothing from training's streams.

    A key's ``drop`` (:class:`WeightedResampler`) becomes the sample's
    ``drop_modalities``, which ``PackMultimodalInputs`` carries into the
    DataSample.

    A plain ``int`` index (another sampler, a test-mode loader, an analysis
    tool) loads the sample as mmengine does, from the global generators.
    """

    def __getitem__(self, idx):
        if not isinstance(idx, SampleKey):
            return super().__getitem__(idx)
        with preserved_random_state():
            return super().__getitem__(idx)

    def __getitems__(self, indices: Sequence) -> List:
        """A batch of samples (torch's DataLoader fetches batches through
        this), restoring the generators once for the batch."""
        if not any(isinstance(idx, SampleKey) for idx in indices):
            return [
                super(SeededSamplesMixin, self).__getitem__(idx)
                for idx in indices
            ]
        with preserved_random_state():
            return [
                super(SeededSamplesMixin, self).__getitem__(idx)
                for idx in indices
            ]

    def prepare_data(self, idx) -> Optional[dict]:
        """The sample after the pipeline; one stream per transform for a
        :class:`SampleKey`.

        BaseDataset's retry after a dropped sample (``_rand_another``)
        draws its new index from the stream of the last reseeded
        transform, so it is seeded too.

        Args:
            idx (int | SampleKey): The index.

        Returns:
            dict | None: The pipeline's output (None if a transform dropped
            the sample).
        """
        results = self.get_data_info(int(idx))
        if not isinstance(idx, SampleKey):
            return self.pipeline(results)
        if idx.drop:  # this draw goes without these modalities
            results['drop_modalities'] = list(idx.drop)
        for position, transform in enumerate(self.pipeline.transforms):
            if getattr(transform, 'draws_random', True):
                seed_global_generators(
                    (idx.seed, idx.epoch, int(idx), position))
            results = transform(results)
            if results is None:
                return None
        return results
