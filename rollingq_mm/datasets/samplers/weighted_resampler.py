"""WeightedResampler: a fixed-length epoch drawn by per-sample weights."""
from typing import Dict, Iterator, Optional

import torch

from rollingq_mm.registry import DATA_SAMPLERS
from .seeded_sampler import SampleKey, SeededSampler


@DATA_SAMPLERS.register_module()
class WeightedResampler(SeededSampler):
    """Re-sample the training set by per-sample weights, with drop flags.

    Until a plan is set it is :class:`SeededSampler` (mmengine's shuffled
    ``DefaultSampler`` order). A balance method that values samples
    (modality / sample valuation) sets a plan before an epoch
    (:meth:`set_plan`): ``weights`` [N] and, per modality, the probability
    [N] that a draw of sample i goes without that modality. The epoch is
    then ``N`` draws with replacement (split across ranks as
    DefaultSampler's, ``ceil(N / world)`` per rank), so its length — which
    mmengine turns into ``max_iters`` once — never changes. The draws come
    from a generator seeded by ``seed + epoch`` alone, the same on every
    rank and after a resume; each drawn index is a :class:`SampleKey`
    whose ``drop`` names the modalities that draw goes without, which
    reach the DataSample as ``drop_modalities`` (datasets with
    ``SeededSamplesMixin``) and the classifier's fusion as keep masks.

    The plan is the balancer's state (in its checkpoint), set again before
    every epoch; the sampler keeps only the current one.

    .. code-block:: python

        train_dataloader = dict(
            sampler=dict(type='WeightedResampler'), ...)

    Args:
        dataset: The training dataset.
        seed (int, optional): As DefaultSampler's. Defaults to None.
        **kwargs: ``shuffle`` / ``round_up`` as DefaultSampler's, for the
            epochs without a plan.
    """

    def __init__(self, dataset, seed: Optional[int] = None, **kwargs):
        kwargs.setdefault('shuffle', True)
        super().__init__(dataset=dataset, seed=seed, **kwargs)
        self.weights: Optional[torch.Tensor] = None
        self.drop_probs: Dict[str, torch.Tensor] = {}

    def set_plan(self,
                 weights: Optional[torch.Tensor] = None,
                 drop_probs: Optional[Dict[str, torch.Tensor]] = None) -> None:
        """Draw the next epochs by ``weights`` with ``drop_probs``.

        Args:
            weights (Tensor, optional): [N] non-negative, not all zero (need
                not sum to 1); None draws each sample once (shuffled).
            drop_probs (dict[str, Tensor], optional): {modality: [N] in
                [0, 1]}: the probability that a draw of sample i goes
                without that modality. Defaults to none.

        Raises:
            ValueError: a shape or a value out of range.
        """
        size = len(self.dataset)
        if weights is not None:
            weights = torch.as_tensor(weights, dtype=torch.float64).cpu()
            if weights.shape != (size, ) or not torch.isfinite(
                    weights).all() or (weights < 0).any() or \
                    weights.sum() <= 0:
                raise ValueError(
                    f'WeightedResampler: weights must be [{size}] finite, '
                    f'non-negative, not all zero; got shape '
                    f'{tuple(weights.shape)}')
        probs = {}
        for name, value in (drop_probs or {}).items():
            value = torch.as_tensor(value, dtype=torch.float64).cpu()
            if value.shape != (size, ) or not ((value >= 0) &
                                               (value <= 1)).all():
                raise ValueError(
                    f'WeightedResampler: drop_probs[{name!r}] must be '
                    f'[{size}] in [0, 1]; got shape {tuple(value.shape)}')
            probs[name] = value
        self.weights, self.drop_probs = weights, probs

    def __iter__(self) -> Iterator[SampleKey]:
        if self.weights is None and not self.drop_probs:
            yield from super().__iter__()
            return
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        size = len(self.dataset)
        if self.weights is None:
            order = torch.randperm(size, generator=generator)
            order = order.repeat(self.total_size // size + 1)[:self.total_size]
        else:
            order = torch.multinomial(
                self.weights,
                self.total_size,
                replacement=True,
                generator=generator)
        drops = {
            name:
            torch.rand(
                self.total_size, generator=generator, dtype=torch.float64)
            < probs[order]
            for name, probs in sorted(self.drop_probs.items())
        }
        for position in range(self.rank, self.total_size, self.world_size):
            drop = [m for m, flags in drops.items() if flags[position]]
            yield SampleKey(
                int(order[position]), self.seed, self.epoch, drop=drop)
