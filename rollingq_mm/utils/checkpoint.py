"""Checkpoint loading that refuses what it cannot trust or use.

Used by :class:`~rollingq_mm.engine.RobustRunner` for ``load_from``,
``--resume`` and ``tools/test.py``, and by the analysis tools:

* **Safe by default.** ``torch.load(weights_only=True)`` with an allow-list
  of exactly the types an mmengine checkpoint holds (its message hub keeps
  ``HistoryBuffer`` objects and numpy arrays). A checkpoint that needs any
  other type is refused, naming it — unpickling it could run code from the
  file. ``trust=True`` (``--trust-checkpoint``) loads trusted files in full.
  Nothing here changes how other code loads checkpoints.
* **Damaged files are errors.** A zip checkpoint (torch >= 1.6) is checked
  against the CRC32 of each of its records before it is unpickled, and the
  weights are checked for NaN / inf.
* **Strict by default.** :func:`check_fits` lists missing, unexpected and
  mis-shaped keys and says which experiment the checkpoint came from.
* **Older releases load.** :func:`pop_legacy_history` converts the RollingQ
  history that the first two releases kept as a model buffer into
  RollingQHook's state in the meta, once, as the file is loaded.
"""
import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    'CheckpointError', 'mmengine_checkpoint_types', 'load_checkpoint_file',
    'check_fits', 'check_finite', 'pop_legacy_history', 'is_resuming',
    'meta_entry', 'plain_containers', 'restore_history_buffers'
]

# How a HistoryBuffer of the message hub is written by PlainCheckpointHook
HISTORY_BUFFER_TAG = 'mmengine.HistoryBuffer'

# The RollingQ history buffer of each RollingQuery in release 1 and 2
# checkpoints; RollingQHook's state in checkpoint['meta'] (under its
# META_KEY) has replaced it.
LEGACY_HISTORY_BUFFER = 'air_history'
LEGACY_HISTORY_META = 'rollingq_hook'

TRUST_HINT = ('If you trust this file (you made it), pass --trust-checkpoint '
              'to tools/train.py / test.py, or set trust_checkpoint=True in '
              'the config')


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded safely or does not fit."""


def mmengine_checkpoint_types() -> list:
    """The non-tensor types an mmengine checkpoint holds.

    The message hub stores ``HistoryBuffer`` objects whose statistics are
    pickled as ``getattr(HistoryBuffer, 'mean')``, numpy arrays and scalars
    and their dtypes. ``getattr`` only reads attributes: the restricted
    unpickler still calls nothing outside this list.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = getattr(np, '_core', None) or np.core
    dtypes = {type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV'}
    return [
        HistoryBuffer, getattr, np.ndarray, np.dtype,
        multiarray.multiarray._reconstruct, multiarray.multiarray.scalar,
        *sorted(dtypes, key=str)
    ]


def _check_zip(filename: str) -> None:
    """Refuse a zip checkpoint whose records fail their CRC32."""
    if not zipfile.is_zipfile(filename):
        return  # the legacy (torch < 1.6) format carries no checksums
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CheckpointError(
            f'checkpoint {filename!r} is damaged ({error}); copy it again '
            'or use another checkpoint') from error
    if bad is not None:
        raise CheckpointError(
            f'checkpoint {filename!r} is damaged: its record {bad!r} fails '
            'its CRC check; copy it again or use another checkpoint')


def load_checkpoint_file(filename: str,
                         map_location='cpu',
                         trust: bool = False,
                         modalities: Optional[Sequence[str]] = None) -> dict:
    """Load a local checkpoint after checking it is intact and safe.

    Args:
        filename (str): Local path.
        map_location: As for ``torch.load``. Defaults to 'cpu'.
        trust (bool): Unpickle everything (trusted files only).
            Defaults to False.
        modalities (Sequence[str], optional): The model's modality names,
            for the history of a release 1/2 checkpoint (see
            :func:`pop_legacy_history`). Defaults to None.

    Returns:
        dict: The checkpoint (a bare state dict is wrapped as
        ``{'state_dict': ...}``).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: damaged, unsafe or non-finite.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist; '
                                'check the path (--resume / load_from)')
    _check_zip(filename)
    try:
        if trust:
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=False)
        else:
            with torch.serialization.safe_globals(mmengine_checkpoint_types()):
                checkpoint = torch.load(
                    filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r'GLOBAL ([\w.]+)|function ([\w.<> ]+)', str(error))
        name = next((g for g in found.groups() if g), '?') if found else '?'
        raise CheckpointError(
            f'checkpoint {filename!r} needs the type {name}, which '
            'mmengine checkpoints do not hold, so it was not loaded: '
            f'unpickling it could run code from the file. {TRUST_HINT}') \
            from error
    except (RuntimeError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f'checkpoint {filename!r} cannot be read ({error}); it is '
            'damaged or not a torch checkpoint') from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {filename!r} holds a '
                              f'{type(checkpoint).__name__}, not a dict')
    if 'state_dict' not in checkpoint:
        checkpoint = dict(state_dict=checkpoint)
    pop_legacy_history(checkpoint, modalities)
    restore_history_buffers(checkpoint)
    check_finite(checkpoint['state_dict'], filename)
    return checkpoint


def pop_legacy_history(
        checkpoint: dict,
        modalities: Optional[Sequence[str]] = None) -> Dict[str, list]:
    """Convert the release 1/2 ``<query>.air_history`` buffers of the state
    dict into RollingQHook's state in ``checkpoint['meta']``.

    Each buffer leaves the state dict (the model has no such buffer now);
    its rows become :class:`~rollingq_mm.models.records.RotationCheck`
    dicts in ``meta['rollingq_hook']['checks'][<query name>]``, the place
    where RollingQHook keeps its history, unless the meta has that already.
    Called once, when the file is loaded.

    Args:
        checkpoint (dict): With ``state_dict`` (and optionally ``meta``).
        modalities (Sequence[str], optional): The model's modality names,
            in order, to name the rows' values; ``'0'``, ``'1'``, ... when
            not given.

    Returns:
        dict[str, list]: The converted checks (dicts) by query name
        (``neck.layers.0.rolling_query``); empty for a newer checkpoint.
    """
    from rollingq_mm.models.records import RotationCheck
    state = checkpoint.get('state_dict') or {}
    suffix = '.' + LEGACY_HISTORY_BUFFER
    keys = [
        k for k in state if k == LEGACY_HISTORY_BUFFER or k.endswith(suffix)
    ]
    converted = {}
    for key in keys:
        name = re.sub(r'^module\.', '',
                      key[:-len(suffix)] if key.endswith(suffix) else '')
        converted[name] = [
            RotationCheck.from_legacy_row(row, modalities).to_dict()
            for row in state.pop(key).tolist()
        ]
    meta = checkpoint.get('meta')
    if converted and meta_entry(checkpoint, LEGACY_HISTORY_META) is None:
        if meta is None:
            meta = checkpoint['meta'] = {}
        meta[LEGACY_HISTORY_META] = dict(checks=converted)
    return converted


def plain_containers(value):
    """``value`` with mmengine's and numpy's objects as plain containers.

    A message hub's ``HistoryBuffer`` becomes a tagged dict (undone by
    :func:`restore_history_buffers`), numpy scalars Python numbers and
    numpy arrays lists, so that ``torch.load(weights_only=True)`` reads the
    checkpoint with no allow-list: mmengine's own loader (``load_from``,
    ``init_cfg=dict(type='Pretrained', ...)``) included.

    Args:
        value: A checkpoint entry (dicts, lists and tuples are walked).

    Returns:
        The same structure with plain leaves (tensors are kept).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if isinstance(value, HistoryBuffer):
        log, count = value.data
        return {
            HISTORY_BUFFER_TAG:
            dict(
                log=log.tolist(),
                count=count.tolist(),
                max_length=value.max_length)
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return type(value)(
            (key, plain_containers(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(plain_containers(item) for item in value)
    return value


def restore_history_buffers(checkpoint: dict) -> None:
    """Turn the tagged dicts of :func:`plain_containers` in the message
    hub's ``log_scalars`` back into ``HistoryBuffer`` objects, in place (for
    mmengine's resume)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    scalars = (checkpoint.get('message_hub') or {}).get('log_scalars')
    for key, value in (scalars or {}).items():
        if isinstance(value, dict) and HISTORY_BUFFER_TAG in value:
            saved = value[HISTORY_BUFFER_TAG]
            scalars[key] = HistoryBuffer(saved['log'], saved['count'],
                                         saved['max_length'])


def is_resuming(runner) -> bool:
    """Whether ``runner`` loads its checkpoint to resume a run (``--resume``,
    mmengine's private ``_resume``), not to start one (``load_from``).

    Hooks restore their state in ``after_load_checkpoint`` only then.
    """
    return bool(getattr(runner, '_resume', False))


def meta_entry(checkpoint: dict, key: str):
    """``checkpoint['meta'][key]``, or None where either is missing."""
    return (checkpoint.get('meta') or {}).get(key)


def check_finite(state_dict: Dict[str, torch.Tensor], filename: str) -> None:
    """Refuse weights with NaN or inf, naming the tensors."""
    bad = [
        key for key, value in state_dict.items()
        if torch.is_tensor(value) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        raise CheckpointError(
            f'checkpoint {filename!r} has NaN/inf in {len(bad)} tensor(s): '
            f'{_listed(bad)}; it is damaged, or was saved after training '
            'diverged. Use an earlier checkpoint')


def _listed(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def _origin(checkpoint: dict) -> str:
    meta = checkpoint.get('meta') or {}
    name = meta.get('experiment_name')
    if not name:
        return 'Its meta does not say which config it was trained with.'
    config = re.sub(r'_\d{8}_\d{6}$', '', str(name))
    return (f'It was trained as experiment {name!r} (config '
            f'{config}.py).')


def _shape_differs(key: str, state: dict, value: torch.Tensor) -> bool:
    saved = state.get(key)
    return torch.is_tensor(saved) and saved.shape != value.shape


def check_fits(model: nn.Module, checkpoint: dict, filename: str) -> None:
    """Refuse a state dict whose keys or shapes differ from the model's.

    Args:
        model (nn.Module): The (unwrapped) model.
        checkpoint (dict): With ``state_dict`` (``module.`` prefixes
            stripped) and optionally ``meta``.
        filename (str): For the message.

    Raises:
        CheckpointError: listing missing / unexpected / mis-shaped keys.
    """
    state = {
        re.sub(r'^module\.', '', k): v
        for k, v in checkpoint['state_dict'].items()
    }
    expected = model.state_dict()
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    shapes = [
        f'{key} {tuple(state[key].shape)} vs {tuple(value.shape)}'
        for key, value in expected.items()
        if _shape_differs(key, state, value)
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing key(s): {_listed(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected key(s): '
                     f'{_listed(unexpected)}')
    if shapes:
        parts.append(f'{len(shapes)} shape mismatch(es) (checkpoint vs '
                     f'model): {_listed(shapes)}')
    raise CheckpointError(
        f'checkpoint {filename!r} does not fit this model: ' +
        '; '.join(parts) + f'. {_origin(checkpoint)} Use the config it '
        'was trained with, or pass --non-strict (load_strict=False) to load '
        'only what fits.')
