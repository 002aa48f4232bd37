"""Data loaders whose random draws do not depend on their workers."""
import torch
from mmengine.runner import Runner
from torch.utils.data import DataLoader


class SteadyLoaderMixin:
    """Training and evaluation loaders are :class:`OneDrawPerEpochLoader`
    (with :class:`~rollingq_mm.datasets.SeededSampler` the pipeline's draws
    are per sample as well): the main process draws the same numbers with
    0, 2 or 8 workers, persistent or not."""

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """mmengine's, as a :class:`OneDrawPerEpochLoader`."""
        loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        if type(loader) is DataLoader:
            loader.__class__ = OneDrawPerEpochLoader
        return loader


class OneDrawPerEpochLoader(DataLoader):
    """A DataLoader that takes one number from its generator per epoch,
    whatever its workers.

    Creating a loader's iterator draws the workers' base seed from the
    loader's generator (torch's global one by default): every epoch with
    ``num_workers=0`` or non-persistent workers, only the first with
    persistent workers. Training's dropout and noise come from the same
    global generator, so without this a config trained with 8 persistent
    workers would draw other dropout masks from epoch 2 on than with 0
    workers. Here a persistent iterator that is reused draws the same one
    number, so the main process's streams do not depend on the workers.
    (The base seed itself no longer matters with
    :class:`~rollingq_mm.datasets.SeededSampler`: each sample reseeds.)
    """

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0 and \
                self._iterator is not None:
            torch.empty((),
                        dtype=torch.int64).random_(generator=self.generator)
        return super().__iter__()
