"""Typed records that cross the seam between the model and RollingQHook.

* :class:`AttentionRecord` — what one attention forward saw: the (rotated)
  CLS queries and the keys, per batch. Every RollingQ-capable attention
  returns one; the per-modality key means, cosines and attention shares are
  computed from it on demand (no cost unless someone asks).
* :class:`RollingQStatistics` — the sums that the hook's collector adds up
  from one query's records over an epoch (or the extra pass), with the
  all-reduce and the means the hook needs.
* :class:`RotationCheck` — one end-of-epoch decision of the hook, kept by
  the hook and written to checkpoints as plain containers.

Statistics leave the attention by one route only: the record it *returns*.
The classifier reads the fusion's record in ``predict`` (for the metrics);
:class:`~rollingq_mm.engine.hooks.StatisticsCollector` reads the same records
through PyTorch forward hooks that RollingQHook opens and closes around the
batches it wants. The return value was chosen over a "collecting" flag on the
model because it costs nothing when nobody listens, needs no state switched
on and off in the model, and works the same for metrics, the hook and a
user's own attention.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce

from rollingq_mm.ops import (imbalance_rate, modality_key_means,
                             query_key_cosines)


@dataclass
class AttentionRecord:
    """One attention forward, seen from its CLS query.

    Args:
        q_cls (Tensor): CLS queries after W_Q and the rotation [B, d].
        keys (Tensor): Keys of all tokens [B, N, d] (heads not split).
        token_slices (dict[str, slice]): Each modality's tokens in ``keys``;
            its order is the modality order.
        num_heads (int): Heads, for the attention shares. Defaults to 1.
    """

    q_cls: torch.Tensor
    keys: torch.Tensor
    token_slices: Dict[str, slice]
    num_heads: int = 1
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # Names of the per-sample fields the classifier writes into DataSamples.
    SHARE_FIELD = 'attention_share'
    COS_FIELD = 'query_key_cos'

    @property
    def modalities(self) -> List[str]:
        return list(self.token_slices)

    def _cached(self, name: str, compute):
        if name not in self._cache:
            # float32 outside autocast: the record is read inside the
            # forward, where autocast would run q kᵀ in fp16 (inf -> NaN
            # shares) however the inputs were cast
            device = self.q_cls.device.type
            with torch.no_grad(), torch.autocast(device, enabled=False):
                self._cache[name] = compute()
        return self._cache[name]

    def key_means(self) -> torch.Tensor:
        """k̄_m per sample [B, M, d], float32."""
        return self._cached(
            'key_means',
            lambda: modality_key_means(self.keys.detach(), self.token_slices))

    def cosines(self) -> torch.Tensor:
        """cos(q, k̄_m) per sample [B, M], float32."""
        return self._cached(
            'cosines', lambda: query_key_cosines(self.q_cls.detach().float(),
                                                 self.key_means()))

    def shares(self) -> torch.Tensor:
        """CLS attention share of each modality's tokens [B, M].

        The softmax weight on the modality's tokens, averaged over heads;
        the weight on the CLS token itself is left out, so rows sum to <= 1.
        """
        return self._cached('shares', self._shares)

    def _shares(self) -> torch.Tensor:
        batch, tokens, dim = self.keys.shape
        head_dim = dim // self.num_heads
        q = self.q_cls.detach().float().view(batch, self.num_heads, 1,
                                             head_dim)
        k = self.keys.detach().float().view(batch, tokens, self.num_heads,
                                            head_dim).transpose(1, 2)
        logits = (q @ k.transpose(-2, -1)) * head_dim**-0.5  # [B, H, 1, N]
        weights = logits.softmax(dim=-1).mean(dim=1)[:, 0]  # [B, N]
        return torch.stack(
            [weights[:, span].sum(-1) for span in self.token_slices.values()],
            dim=-1)

    def sample_fields(self) -> Dict[str, torch.Tensor]:
        """Per-sample fields for the metrics: ``{field: [B, M]}``."""
        return {
            self.SHARE_FIELD: self.shares(),
            self.COS_FIELD: self.cosines()
        }


@dataclass
class RollingQStatistics:
    """Sums of one RollingQuery's records over the batches collected.

    ``last_*`` are the last batch's sums (the paper's AIR). Counts are host
    integers: a tensor made from a Python number would be a blocking copy in
    every training step.
    """

    modalities: List[str]  # the order of the M rows / columns below
    query_sum: torch.Tensor  # [d]
    key_sum: torch.Tensor  # [M, d]
    cos_sum: torch.Tensor  # [M]
    share_sum: torch.Tensor  # [M]
    count: int
    last_cos_sum: torch.Tensor  # [M]
    last_count: int

    @classmethod
    def from_record(cls, record: AttentionRecord) -> 'RollingQStatistics':
        """The sums of one batch."""
        cos = record.cosines().sum(0)
        return cls(
            modalities=record.modalities,
            query_sum=record.q_cls.detach().float().sum(0),
            key_sum=record.key_means().sum(0),
            cos_sum=cos,
            share_sum=record.shares().sum(0),
            count=record.q_cls.shape[0],
            last_cos_sum=cos,
            last_count=record.q_cls.shape[0])

    def add(self, other: 'RollingQStatistics') -> 'RollingQStatistics':
        """These sums plus ``other``'s (whose batch becomes the last).

        Raises:
            ValueError: if ``other`` has other modalities or another order.
        """
        if other.modalities != self.modalities:
            raise ValueError(
                f'a RollingQuery saw the modalities {other.modalities} after '
                f'{self.modalities}; keep the modality order fixed within a '
                'run')
        return RollingQStatistics(
            self.modalities, self.query_sum + other.query_sum,
            self.key_sum + other.key_sum, self.cos_sum + other.cos_sum,
            self.share_sum + other.share_sum, self.count + other.count,
            other.last_cos_sum, other.last_count)

    def all_reduced(self) -> 'RollingQStatistics':
        """The sums over all ranks, in float64 (identity without DDP)."""
        tensors = [
            self.query_sum, self.key_sum, self.cos_sum, self.share_sum,
            self.last_cos_sum
        ]
        ref = self.query_sum
        counts = ref.new_tensor([self.count, self.last_count],
                                dtype=torch.float64)
        flat = torch.cat([t.reshape(-1).double() for t in tensors] + [counts])
        all_reduce(flat, op='sum')
        parts, start = [], 0
        for tensor in tensors:
            parts.append(flat[start:start + tensor.numel()].view(tensor.shape))
            start += tensor.numel()
        count, last_count = flat[start:].tolist()
        query_sum, key_sum, cos_sum, share_sum, last_cos_sum = parts
        return RollingQStatistics(self.modalities, query_sum, key_sum, cos_sum,
                                  share_sum, int(count), last_cos_sum,
                                  int(last_count))

    @property
    def mean_query(self) -> torch.Tensor:
        """E[q] [d]."""
        return self.query_sum / self.count

    @property
    def mean_keys(self) -> torch.Tensor:
        """E[k̄_m] [M, d]."""
        return self.key_sum / self.count

    @property
    def shares(self) -> torch.Tensor:
        """Mean CLS attention share per modality [M]."""
        return self.share_sum / self.count

    def cosines(self, source: str = 'epoch') -> torch.Tensor:
        """c_m = E[cos(q, k̄_m)] [M] over the epoch or its last batch."""
        if source == 'last_batch':
            return self.last_cos_sum / self.last_count
        return self.cos_sum / self.count

    def air(self, source: str = 'epoch') -> float:
        """The Attention Imbalance Rate from :meth:`cosines`."""
        return float(imbalance_rate(self.cosines(source)))

    def is_finite(self) -> bool:
        return all(
            bool(torch.isfinite(t).all())
            for t in (self.query_sum, self.key_sum, self.cos_sum,
                      self.share_sum, self.last_cos_sum))


@dataclass
class RotationCheck:
    """One end-of-epoch check of a RollingQuery, as RollingQHook keeps it.

    Args:
        epoch (int): The epoch just finished (1-based).
        air (float): AIR that decided the trigger.
        rotated (bool): Whether a rotation was applied.
        cosines (dict[str, float]): c_m per modality.
        weights (dict[str, float]): Anchor weights α_m.
        shares (dict[str, float]): Mean CLS attention share per modality over
            the epoch (NaN in checkpoints written before it was recorded).
        reason (str, optional): Why it did not rotate; None when it did.
    """

    epoch: int
    air: float
    rotated: bool
    cosines: Dict[str, float]
    weights: Dict[str, float]
    shares: Dict[str, float]
    reason: Optional[str] = None

    def to_dict(self) -> dict:
        """Plain containers only (what ``weights_only`` loading accepts)."""
        return dict(
            epoch=int(self.epoch),
            air=float(self.air),
            rotated=bool(self.rotated),
            cosines={
                k: float(v)
                for k, v in self.cosines.items()
            },
            weights={
                k: float(v)
                for k, v in self.weights.items()
            },
            shares={
                k: float(v)
                for k, v in self.shares.items()
            },
            reason=self.reason)

    @classmethod
    def from_dict(cls, values: dict) -> 'RotationCheck':
        """The inverse of :meth:`to_dict`."""
        return cls(**values)

    @classmethod
    def from_legacy_row(cls,
                        row: List[float],
                        names: Optional[List[str]] = None) -> 'RotationCheck':
        """Decode one row of the ``air_history`` buffer that checkpoints of
        the first two releases hold (see ``utils/checkpoint.py``).

        Release 2 wrote ``[epoch, air, rotated, M, c(M), α(M), share(M)]``,
        release 1 ``[epoch, air, rotated, c(M), α(M)]`` (no M, no shares).
        A cosine is at most 1, so a 4th value >= 2 that matches the row's
        width can only be release 2's modality count.

        Args:
            row (list[float]): One row.
            names (list[str], optional): The modality names, in order;
                ``'0'``, ``'1'``, ... when not given or of another length.
        """
        count = row[3] if len(row) > 3 else 0
        if count >= 2 and count == int(count) and \
                len(row) == 4 + 3 * int(count):
            num, start, shares = int(count), 4, True
        else:
            num, start, shares = (len(row) - 3) // 2, 3, False
        names = names if names and len(names) == num else \
            [str(i) for i in range(num)]

        def part(index):
            return dict(
                zip(names, row[start + index * num:start + (index + 1) * num]))

        return cls(
            epoch=int(row[0]),
            air=row[1],
            rotated=bool(row[2]),
            cosines=part(0),
            weights=part(1),
            shares=part(2) if shares else {n: float('nan')
                                           for n in names})


def find_record(output) -> Optional[AttentionRecord]:
    """The AttentionRecord in a module's output (itself or in a tuple)."""
    if isinstance(output, AttentionRecord):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, AttentionRecord):
                return item
    return None
