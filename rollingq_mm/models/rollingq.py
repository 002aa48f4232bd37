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
        * ``air_history`` (buffer [E, 3 + 2M], persistent): one row per
          checked epoch: epoch, AIR, rotated (0/1), c_m..., α_m...; read it
          as dicts through :attr:`history`.
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
        # A tensor, not extra state: mmengine broadcasts every state_dict entry
        # as a tensor when it wraps a model for DDP.
        self.register_buffer('air_history', torch.zeros(0, 0))
        self.modalities: Optional[List[str]] = None
        self.collecting = False
        # A host-side mirror of ``num_rotations > 0``, so that forward needs no
        # device sync and an unrotated query is returned bit for bit.
        self._rotated = False
        self._stats: Dict[str, torch.Tensor] = {}
        self._counts: Dict[str, int] = {}

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
        batch = dict(
            query_sum=q_cls.sum(0), key_sum=key_means.sum(0), cos_sum=cos.sum(0))
        for key, value in batch.items():
            total = self._stats.get(key)
            self._stats[key] = value if total is None else total + value
        # Counts stay on the host: a tensor made from a Python number would
        # be a blocking host-to-device copy in every training step.
        self._counts['count'] = self._counts.get('count', 0) + q_cls.shape[0]
        self._stats['last_cos_sum'] = batch['cos_sum']
        self._counts['last_count'] = q_cls.shape[0]

    def reset_statistics(self, keep_last_batch: bool = False) -> None:
        """Clear the sums (optionally keeping the last batch's cosines)."""
        keep = keep_last_batch and 'last_cos_sum' in self._stats
        self._stats = {'last_cos_sum': self._stats['last_cos_sum']} if keep \
            else {}
        self._counts = {'last_count': self._counts['last_count']} if keep \
            else {}

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
        out = {}
        for key in STAT_KEYS:
            if key in self._counts:
                out[key] = ref.new_tensor(float(self._counts[key]))
            elif key in self._stats:
                out[key] = self._stats[key].clone()
            else:
                out[key] = ref.new_zeros(shapes[key])
        return out

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

    # ------------------------------------------------------------ history
    def append_history(self, epoch: int, air: float, rotated: bool,
                       cosines: torch.Tensor, weights: torch.Tensor) -> None:
        """Record one check: the epoch, AIR, whether it rotated, c and α."""
        row = torch.cat([
            torch.tensor([float(epoch), float(air), float(rotated)]),
            cosines.detach().cpu().float(), weights.detach().cpu().float()
        ]).to(self.air_history.device)
        if self.air_history.numel() and \
                self.air_history.shape[1] != row.numel():
            raise ValueError('the number of modalities changed within a run')
        self.air_history = torch.cat(
            [self.air_history.view(-1, row.numel()), row[None]])

    @property
    def history(self) -> List[dict]:
        """The checks so far, as dicts: epoch, air, rotated, cos, weights."""
        if not self.air_history.numel():
            return []
        num_modalities = (self.air_history.shape[1] - 3) // 2
        names = self.modalities or [str(i) for i in range(num_modalities)]
        records = []
        for row in self.air_history.tolist():
            cos, weights = row[3:3 + num_modalities], row[3 + num_modalities:]
            records.append(
                dict(epoch=int(row[0]), air=row[1], rotated=bool(row[2]),
                     cos=dict(zip(names, cos)),
                     weights=dict(zip(names, weights))))
        return records

    # ------------------------------------------------- checkpoint support
    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The history grows during training: take the checkpoint's length.
        saved = state_dict.get(prefix + 'air_history')
        if saved is not None:
            self.air_history = self.air_history.new_zeros(saved.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._rotated = bool(self.num_rotations.item() > 0)

    def extra_repr(self) -> str:
        return f'dim={self.dim}'
