"""Sample- and modality-level valuation (Wei et al., CVPR 2024)."""
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger

from rollingq_mm.registry import MODELS
from .base import BaseBalancer
from .epoch_pass import per_sample_pass


class ModalityValuationBase(BaseBalancer):
    """Shapley contributions per sample; a re-sampling plan from them.

    After each epoch from ``warmup_epochs - 1`` on, every training sample
    is valued (eval mode, no grad, through the training pipeline): with
    v(S) = |S| · 1[the prediction from the modalities in S is right] — the
    others removed from the fusion (concat / sum: their features zeroed,
    the head's bias kept, as the authors' ``exec_drop``; attention: left
    out of the keys) — modality a's contribution is the two-player Shapley
    value ``φ_a = (v({a}) + v({a, v}) − v({v})) / 2``. A subclass turns
    the contributions into the next epoch's plan for
    :class:`WeightedResampler` (per-sample weights and the probability that
    a draw keeps one modality only), which is this method's state.

    The authors append copies to the epoch (its length changes every
    epoch); mmengine fixes the epoch's length once, so here an epoch is N
    draws from the same mixture: a draw is sample i with probability ∝ its
    number of entries in the authors' epoch (original + copies) and, given
    i, a copy that keeps one modality with that copy's share. Each draw has
    the distribution of a uniform draw from the authors' epoch; an epoch
    has N steps' worth of draws instead of N + copies.

    Args:
        warmup_epochs (int): Plain epochs first; the first plan is made at
            the end of epoch ``warmup_epochs - 1``. Defaults to 5 (the
            authors').
    """

    epoch_passes = ('train', )
    resamples = True

    def __init__(self, warmup_epochs: int = 5):
        super().__init__()
        if warmup_epochs < 1:
            raise ValueError(f'{type(self).__name__}: warmup_epochs must be '
                             f'>= 1, got {warmup_epochs}')
        self.warmup_epochs = warmup_epochs
        self.plan: Optional[dict] = None  # WeightedResampler.set_plan args

    def bind(self, model) -> None:
        super().bind(model)
        if len(self.modalities) != 2:
            raise ValueError(
                f'{type(self).__name__} values two modalities (the authors\' '
                f'two-player Shapley value); the model has {self.modalities}')

    def before_train_epoch(self, loader, model) -> None:
        """Give the epoch's sampler the plan (again after a resume)."""
        sampler = getattr(loader, 'sampler', None)
        if not hasattr(sampler, 'set_plan'):
            if self.plan is not None:
                raise RuntimeError(
                    f'{type(self).__name__} has a re-sampling plan but the '
                    "loader's sampler is not a WeightedResampler")
            return  # no plan yet (warm-up), e.g. a tool's list of batches
        sampler.set_plan(**(self.plan or {}))

    @torch.no_grad()
    def evaluate_splits(self, loaders: dict, model) -> None:
        if self.epoch < self.warmup_epochs - 1:
            return
        found = per_sample_pass(model, loaders['train'], self._values)
        size = len(loaders['train'].dataset)
        if not torch.equal(found['sample_idx'], torch.arange(size)):
            raise RuntimeError(
                f'{type(self).__name__}: the training pass gave sample_idx '
                f'other than 0..{size - 1}; each sample must be valued once')
        contributions = {m: found[m].double() for m in self.modalities}
        self.plan = self.make_plan(contributions, loaders['train'])
        for name, value in contributions.items():
            self.track(**{f'contribution_{name}': value.mean()})

    def _values(self, model, data: dict) -> Dict[str, torch.Tensor]:
        """φ_m [B] per modality for one batch."""
        tokens = model.encode(data['inputs'])
        labels = torch.cat([s.gt_label for s in data['data_samples']])
        first, second = self.modalities
        size = len(labels)
        ones, zeros = labels.new_ones(size).float(), labels.new_zeros(
            size).float()

        def right(keep=None):
            logits = model.fused_logits(tokens, keep)
            return (logits.argmax(1) == labels).double()

        both = 2 * right()
        only_first = right({second: zeros, first: ones})
        only_second = right({first: zeros, second: ones})
        return {
            first: (only_first + both - only_second) / 2,
            second: (only_second + both - only_first) / 2
        }

    def make_plan(self, contributions: Dict[str, torch.Tensor],
                  loader) -> dict:
        """``WeightedResampler.set_plan`` arguments from φ_m [N]."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        return dict(plan=self.plan)

    def load_state_dict(self, state: dict) -> None:
        self.plan = state.get('plan')


def sample_copies(contribution: torch.Tensor) -> torch.Tensor:
    """The authors' copies of a sample for a modality's φ [N]: 3 below
    −0.1, 2 in (−0.1, 0.4), 1 in (0.4, 1), none from 1 on
    (``AV_KS_Dataset_sample_level``)."""
    return torch.where(
        contribution < -0.1, 3.,
        torch.where(contribution < 0.4, 2.,
                    torch.where(contribution < 1, 1., 0.))).double()


@MODELS.register_module()
class SampleValuation(ModalityValuationBase):
    """Sample-level valuation: re-sample each sample by its contributions.

    A sample gets ``c(φ_m)`` copies that keep only modality m (the other
    removed from the fusion, so its encoder gets no gradient from them):
    3 for φ_m < −0.1, 2 for φ_m in (−0.1, 0.4), 1 for (0.4, 1), 0 from 1
    on. As a fixed-length plan: weight ``1 + Σ_m c_m``, and a draw of the
    sample keeps only m with probability ``c_m / (1 + Σ c)``.

    Follows GeWu-Lab/Valuate-and-Enhance-Multimodal-Cooperation (7ed12b0)
    ``code/sample_level.py`` ``execute_modulation`` (75-153) and
    ``code/datasets/dataloader.py`` ``AV_KS_Dataset_sample_level``
    (116-257). Differences from the authors' and BalanceBenchmark's in
    docs/balance_methods.md (BalanceBenchmark: inputs zeroed instead of
    features, v(S) = 1[right] so right samples get copies too, and every
    batch re-uses the first batch's values).

    Args:
        warmup_epochs (int): Defaults to 5.
    """

    def make_plan(self, contributions: Dict[str, torch.Tensor],
                  loader) -> dict:
        first, second = self.modalities
        copies = {m: sample_copies(contributions[m]) for m in self.modalities}
        weights = 1 + copies[first] + copies[second]
        # a copy that keeps only m drops the other modality
        return dict(
            weights=weights,
            drop_probs={
                second: copies[first] / weights,
                first: copies[second] / weights
            })


@MODELS.register_module()
class ModalityValuation(ModalityValuationBase):
    """Modality-level valuation: more draws of the weaker modality alone.

    The mean contributions φ̄_m over a random ``part_ratio`` of the
    training samples (drawn with replacement) give gaps ``1 − φ̄_m``; the
    authors add ``K = ⌊(2/3)·α·|gap_a − gap_v|·N⌋`` uniformly drawn copies
    that keep only the modality with the larger gap. As a fixed-length
    plan: uniform draws, each keeping only that modality with probability
    ``K / (N + K)``.

    Follows GeWu-Lab/Valuate-and-Enhance-Multimodal-Cooperation (7ed12b0)
    ``code/modality_level.py`` (143-161) and ``AV_KS_Dataset_modality_
    level`` (``func='linear'``). BalanceBenchmark doubles the difference,
    drops ``alpha`` and adds a second, multimodal copy per draw.

    Args:
        alpha (float): α. Defaults to 1 (the authors').
        part_ratio (float): Share of samples averaged. Defaults to 0.2.
        warmup_epochs (int): Defaults to 5.
    """

    def __init__(self,
                 alpha: float = 1.0,
                 part_ratio: float = 0.2,
                 warmup_epochs: int = 5):
        super().__init__(warmup_epochs)
        if alpha < 0 or not 0 < part_ratio <= 1:
            raise ValueError('ModalityValuation: need alpha >= 0 and 0 < '
                             f'part_ratio <= 1, got {alpha}, {part_ratio}')
        self.alpha = alpha
        self.part_ratio = part_ratio

    def make_plan(self, contributions: Dict[str, torch.Tensor],
                  loader) -> dict:
        first, second = self.modalities
        size = len(contributions[first])
        generator = torch.Generator().manual_seed(
            int(getattr(loader.sampler, 'seed', 0)) + self.epoch)
        part = torch.randint(
            size, (max(1, int(size * self.part_ratio)), ), generator=generator)
        gaps = {m: 1 - contributions[m][part].mean() for m in self.modalities}
        difference = abs(gaps[first] - gaps[second]) / 3 * 2 * self.alpha
        copies = int(difference * size)
        weaker = first if gaps[first] > gaps[second] else second
        stronger = second if weaker == first else first
        MMLogger.get_current_instance().info(
            f'ModalityValuation (epoch {self.epoch + 1}): gaps '
            f'{first} {float(gaps[first]):.4f}, {second} '
            f'{float(gaps[second]):.4f}: {copies} of {size} extra draws keep '
            f'{weaker} only')
        return dict(
            weights=torch.ones(size, dtype=torch.float64),
            drop_probs={
                stronger:
                torch.full((size, ),
                           copies / (size + copies),
                           dtype=torch.float64)
            })
