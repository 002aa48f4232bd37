"""RollingQuery: the rotation state of one attention's CLS query."""
from typing import Dict, List, Optional

import torch
from torch import nn

from rollingq_mm.ops import modality_key_means, query_key_cosines
from rollingq_mm.registry import MODELS

# Names of the per-rank sums that ``RollingQuery.statistics`` returns; the
# hook all-reduces each of them before any mean is taken.
STAT_KEYS = ('query_sum', 'key_sum', 'cos_sum', 'count', 'last_cos_sum',
             'last_count')


@MODELS.register_module()
class RollingQuery(nn.Module):
    """Rotation state of a CLS query: q ← R·q, with R accumulated by rotations.

    Any attention module can embed one: call it on the CLS query rows after
    the W_Q projection (``q_cls = rolling_query(q_cls)``) and pass the keys to
    :meth:`accumulate`. :class:`RollingQHook` finds every instance in a model.

    State:
        * ``rotation`` (buffer [d, d], persistent): R, identity at start.
        * ``num_rotations`` (buffer, persistent): how many rotations were done.
        * ``history`` (extra state, persistent): one dict per checked epoch.
        * statistics sums (plain attributes, not persistent): E[q], E[k̄_m] and
          cos(q, k̄_m) accumulated while :attr:`collecting` is True.

    Args:
        dim (int): Query dimension d (all heads together).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer('rotation', torch.eye(dim))
        self.register_buffer('num_rotations', torch.zeros((), dtype=torch.long))
        self.history: List[dict] = []
        self.modalities: Optional[List[str]] = None
        self.collecting = False
        # A host-side mirror of ``num_rotations > 0``, so that forward needs no
        # device sync and an unrotated query is returned bit for bit.
        self._rotated = False
        self._stats: Dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------ forward
    def forward(self, q_cls: torch.Tensor) -> torch.Tensor:
        """Rotate the CLS queries.

        Args:
            q_cls (Tensor): CLS queries [B, d] (or [..., d]).

        Returns:
            Tensor: ``R q`` for every row, same shape and dtype.
        """
        if not self._rotated:
            return q_cls
        # In float32 even under autocast: a bf16 R is no longer orthogonal.
        with torch.autocast(q_cls.device.type, enabled=False):
            rotated = q_cls.float() @ self.rotation.t()
        return rotated.to(q_cls.dtype)

    # --------------------------------------------------------- statistics
    @torch.no_grad()
    def accumulate(self, q_cls: torch.Tensor, keys: torch.Tensor,
                   token_slices: Dict[str, slice]) -> None:
        """Add one batch to the statistics, if :attr:`collecting`.

        Args:
            q_cls (Tensor): Rotated CLS queries [B, d].
            keys (Tensor): Keys of all tokens [B, N, d].
            token_slices (dict[str, slice]): Token range of each modality in
                ``keys``; its order defines the modality order.
        """
        if not self.collecting:
            return
        names = list(token_slices)
        if self.modalities is None:
            self.modalities = names
        elif names != self.modalities:
            raise ValueError(f'RollingQuery saw modalities {names}, but its '
                             f'statistics are for {self.modalities}; keep '
                             'the modality order fixed within a run')
        key_means = modality_key_means(keys, token_slices)  # [B, M, d]
        q_cls = q_cls.float()
        cos = query_key_cosines(q_cls, key_means)  # [B, M]
        count = q_cls.new_tensor(float(q_cls.shape[0]))
        batch = dict(
            query_sum=q_cls.sum(0),
            key_sum=key_means.sum(0),
            cos_sum=cos.sum(0),
            count=count)
        for key, value in batch.items():
            total = self._stats.get(key)
            self._stats[key] = value if total is None else total + value
        self._stats['last_cos_sum'] = batch['cos_sum']
        self._stats['last_count'] = count

    def reset_statistics(self, keep_last_batch: bool = False) -> None:
        """Clear the sums (optionally keeping the last batch's cosines)."""
        last = {k: self._stats[k] for k in ('last_cos_sum', 'last_count')
                if keep_last_batch and k in self._stats}
        self._stats = last

    def statistics(self) -> Optional[Dict[str, torch.Tensor]]:
        """The per-rank sums (see ``STAT_KEYS``), or None if nothing was seen.

        Returns:
            dict[str, Tensor] | None: ``query_sum`` [d], ``key_sum`` [M, d],
            ``cos_sum`` [M], ``count`` [], ``last_cos_sum`` [M],
            ``last_count`` []. Missing entries are zero-filled.
        """
        if not self._stats or self.modalities is None:
            return None
        ref = next(iter(self._stats.values()))
        num_modalities = len(self.modalities)
        shapes = dict(
            query_sum=(self.dim, ),
            key_sum=(num_modalities, self.dim),
            cos_sum=(num_modalities, ),
            count=(),
            last_cos_sum=(num_modalities, ),
            last_count=())
        return {
            key: self._stats[key].clone() if key in self._stats else
            ref.new_zeros(shapes[key])
            for key in STAT_KEYS
        }

    # ----------------------------------------------------------- rotation
    @torch.no_grad()
    def rotate(self, rotation: torch.Tensor) -> None:
        """Compose a new rotation: R ← R_b · R.

        Args:
            rotation (Tensor): R_b [d, d].
        """
        if rotation.shape != self.rotation.shape:
            raise ValueError(f'rotation has shape {tuple(rotation.shape)}, '
                             f'expected {tuple(self.rotation.shape)}')
        composed = rotation.to(self.rotation.device, torch.float64) @ \
            self.rotation.to(torch.float64)
        self.rotation.copy_(composed.to(self.rotation.dtype))
        self.num_rotations += 1
        self._rotated = True

    # ------------------------------------------------- checkpoint support
    def get_extra_state(self) -> dict:
        return dict(history=list(self.history), modalities=self.modalities)

    def set_extra_state(self, state: dict) -> None:
        self.history = list(state.get('history', []))
        self.modalities = state.get('modalities')

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._rotated = bool(self.num_rotations.item() > 0)

    def extra_repr(self) -> str:
        return f'dim={self.dim}'
