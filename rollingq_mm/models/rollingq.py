"""RollingQuery: the rotation state of one attention's CLS query."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import is_model_wrapper
from torch import nn

from rollingq_mm.registry import MODELS
from .records import AttentionRecord, RollingQStatistics, RotationCheck


@MODELS.register_module()
class RollingQuery(nn.Module):
    """Rotation state of a CLS query: q ← R·q, with R accumulated by rotations.

    Any attention module can embed one: call it on the CLS query rows after
    the W_Q projection (``q_cls = rolling_query(q_cls)``) and return an
    :class:`AttentionRecord` of the rotated queries and the keys as the last
    element of the module's output; :class:`RollingQHook` finds every
    RollingQuery in a model and reads those records (see ``records.py``).

    State:
        * ``rotation`` (buffer [d, d], persistent): R, identity at start.
        * ``num_rotations`` (buffer, persistent): rotations done so far.
        * ``air_history`` (buffer [E, 4 + 3M], persistent): the encoded
          :class:`RotationCheck` of each checked epoch; read it through
          :attr:`history`.
        * :attr:`statistics` (not persistent): the sums of the batches seen
          since :meth:`reset_statistics`.

    Args:
        dim (int): Query dimension d (all heads together).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer('rotation', torch.eye(dim))
        self.register_buffer('num_rotations', torch.zeros((),
                                                          dtype=torch.long))
        # A tensor, not extra state: mmengine broadcasts every state_dict entry
        # as a tensor when it wraps a model for DDP.
        self.register_buffer('air_history', torch.zeros(0, 0))
        self.modalities: Optional[List[str]] = None
        self.statistics: Optional[RollingQStatistics] = None
        # A host-side mirror of ``num_rotations > 0``, so that forward needs no
        # device sync and an unrotated query is returned bit for bit.
        self._rotated = False

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
    def observe(self, record: AttentionRecord) -> None:
        """Add one batch's record to :attr:`statistics`.

        Raises:
            ValueError: if the modalities differ from the earlier batches'.
        """
        names = record.modalities
        if self.modalities is None:
            self.modalities = names
        elif names != self.modalities:
            raise ValueError(f'RollingQuery saw modalities {names}, but it '
                             f'was built for {self.modalities}; keep the '
                             'modality order fixed within a run')
        batch = RollingQStatistics.from_record(record)
        self.statistics = batch if self.statistics is None else \
            self.statistics.add(batch)

    def reset_statistics(self) -> None:
        """Forget the sums collected so far."""
        self.statistics = None

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
    def append_history(self, check: RotationCheck) -> None:
        """Record one check (kept in the checkpoint)."""
        row = check.to_row().to(self.air_history.device)
        history = self.air_history
        if history.numel() and history.shape[1] != row.numel():
            raise ValueError('the number of modalities changed within a run')
        self.air_history = torch.cat(
            [history.view(-1, row.numel()), row[None]])

    @property
    def history(self) -> List[RotationCheck]:
        """The checks so far, oldest first."""
        return [
            RotationCheck.from_row(row, self.modalities)
            for row in self.air_history.tolist()
        ]

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


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside any (nested) mmengine / torch model wrapper."""
    while is_model_wrapper(model):
        model = model.module
    return model


def find_rolling_queries(
        model: nn.Module) -> List[Tuple[str, RollingQuery, nn.Module]]:
    """Every RollingQuery in ``model`` (unwrapped), in module order.

    Returns:
        list[tuple]: ``(name, query, owner)``, where ``owner`` is the module
        that holds the query (the attention whose output carries the
        :class:`AttentionRecord`).
    """
    found = []
    for owner_name, owner in unwrap_model(model).named_modules():
        for child_name, child in owner.named_children():
            if isinstance(child, RollingQuery):
                name = f'{owner_name}.{child_name}' if owner_name else \
                    child_name
                found.append((name, child, owner))
    return found
