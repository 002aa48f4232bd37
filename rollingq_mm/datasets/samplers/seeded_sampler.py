"""SeededSampler: indices that carry the (seed, epoch) of their draws."""
from typing import Iterator, Sequence

from mmengine.dataset import DefaultSampler

from rollingq_mm.registry import DATA_SAMPLERS


class SampleKey(int):
    """A dataset index that also names the random stream of its sample.

    It is the index (an ``int``, so any dataset takes it) with the run's
    ``seed`` and the ``epoch`` attached. It crosses into worker processes
    with the index (it pickles as itself), so a dataset that understands it
    (:class:`~rollingq_mm.datasets.SeededSamplesMixin`) draws the sample's
    random numbers from a stream fixed by (seed, epoch, index) there.

    ``drop`` names the modalities this draw of the sample goes without
    (:class:`WeightedResampler`); the dataset puts them in the sample's
    ``drop_modalities`` and the classifier removes them from its fusion.
    """

    def __new__(cls,
                index: int,
                seed: int,
                epoch: int,
                drop: Sequence[str] = ()) -> 'SampleKey':
        key = super().__new__(cls, index)
        key.seed = int(seed)
        key.epoch = int(epoch)
        key.drop = tuple(drop)
        return key

    def __reduce__(self):
        return SampleKey, (int(self), self.seed, self.epoch, self.drop)

    def __repr__(self) -> str:
        drop = f', drop={self.drop}' if self.drop else ''
        return (f'SampleKey({int(self)}, seed={self.seed}, '
                f'epoch={self.epoch}{drop})')


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` whose indices are :class:`SampleKey`.

    The order of the indices is DefaultSampler's (a permutation fixed by
    ``seed + epoch``, split across ranks); each index also carries the seed
    and the epoch, which ``DistSamplerSeedHook`` sets before every epoch in
    the main process. With our datasets every random transform then draws
    from a stream fixed by (seed, epoch, sample index, transform), so a
    config gives the same batches with 0, 2 or 8 workers, persistent or
    not, and a resumed run continues them. Use it for training loaders:

    .. code-block:: python

        train_dataloader = dict(
            sampler=dict(type='SeededSampler', shuffle=True), ...)

    Args:
        **kwargs: As for mmengine's ``DefaultSampler`` (``dataset``,
            ``shuffle``, ``seed``, ``round_up``).
    """

    def __iter__(self) -> Iterator[SampleKey]:
        for index in super().__iter__():
            yield SampleKey(index, self.seed, self.epoch)
