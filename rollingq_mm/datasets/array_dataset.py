"""Datasets whose modalities are arrays held in memory (or memory-mapped)."""
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from rollingq_mm.registry import DATASETS
from rollingq_mm.utils.errors import ReadableKeyError
from .seeded_samples import SeededSamplesMixin

# Rows per chunk of the finiteness scan are chosen so that one chunk is at
# most this many bytes: a memory-mapped folder larger than memory is read
# once, sequentially, without holding more than a chunk.
SCAN_CHUNK_BYTES = 64 * 2**20

# The data-info key that lists a sample's per-sample metainfo keys, so that
# PackMultimodalInputs copies them into the DataSample without the pipeline
# having to repeat them.
SAMPLE_META_KEYS = 'sample_meta_keys'
# Set in a data info whose arrays were scanned for NaN / inf when the dataset
# was built, so PackMultimodalInputs need not check each sample again.
FINITE_CHECKED = '_finite_checked'


def count_non_finite(array: np.ndarray) -> tuple:
    """Non-finite values of a float array, scanned in chunks of rows.

    Args:
        array (np.ndarray): [N, ...], possibly memory-mapped.

    Returns:
        tuple: (number of non-finite values, number of samples that have
        one, index of the first such sample or -1).
    """
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return 0, 0, -1
    row_bytes = max(1, array[:1].nbytes)
    step = max(1, SCAN_CHUNK_BYTES // row_bytes)
    values = samples = 0
    first = -1
    for start in range(0, len(array), step):
        bad = ~np.isfinite(np.asarray(array[start:start + step]))
        if not bad.any():
            continue
        per_row = bad.reshape(len(bad), -1).sum(axis=1)
        values += int(per_row.sum())
        samples += int((per_row > 0).sum())
        if first < 0:
            first = start + int(np.flatnonzero(per_row)[0])
    return values, samples, first


class InMemoryMultimodalDataset(SeededSamplesMixin, BaseDataset):
    """Base for datasets given as ``{modality: array[N, ...]}`` + labels [N].

    Samples are sliced lazily in :meth:`get_data_info`, so the arrays are
    never copied per sample (``serialize_data`` is off). When the dataset is
    built — before the first training iteration — labels are checked
    against ``metainfo['classes']`` and every modality array is scanned for
    NaN / inf, so bad data fails at once with the file and array named.

    Subclasses implement :meth:`load_arrays`, returning the arrays, the labels
    and optionally per-sample metainfo lists; :attr:`source` names the data
    in error messages.

    Args:
        modalities (Sequence[str]): Modality names, in the model's order.
        meta_keys (Sequence[str]): Per-sample metainfo to carry into each
            DataSample (e.g. ``['corrupted']`` for grouped metrics, or
            ``['speaker']``). Defaults to ().
        **kwargs: As for mmengine's ``BaseDataset``.
    """

    def __init__(self,
                 modalities: Sequence[str],
                 meta_keys: Sequence[str] = (),
                 **kwargs):
        if isinstance(modalities, str) or not modalities:
            raise ValueError('modalities must be a non-empty list of names, '
                             f'got {modalities!r}')
        if isinstance(meta_keys, str):
            raise ValueError(f'meta_keys must be a list of names, got '
                             f'{meta_keys!r}; write [{meta_keys!r}]')
        self.modalities = list(modalities)
        self.meta_keys = tuple(meta_keys)
        self.arrays: Dict[str, np.ndarray] = {}
        self.sample_meta: Dict[str, list] = {}
        kwargs.setdefault('serialize_data', False)
        super().__init__(**kwargs)

    @property
    def source(self) -> str:
        """What the arrays come from, for error messages."""
        return f'{type(self).__name__}({self.ann_file!r})'

    def load_arrays(self) -> tuple:
        """Returns ``(arrays, labels, sample_meta)``; see the class doc."""
        raise NotImplementedError

    def _check_labels(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f'{self.source}: labels must be a 1-D integer '
                             f'array, got shape {labels.shape} and dtype '
                             f'{labels.dtype}')
        classes = self.metainfo.get('classes')
        num_classes = len(classes) if classes is not None else None
        bad = labels < 0
        if num_classes is not None:
            bad |= labels >= num_classes
        if bad.any():
            allowed = ('>= 0' if num_classes is None else
                       f'in [0, {num_classes}) ({num_classes} classes in '
                       'metainfo)')
            raise ValueError(
                f'{self.source}: {int(bad.sum())} label(s) are not {allowed}'
                f', e.g. {labels[bad][:5].tolist()} at samples '
                f'{np.flatnonzero(bad)[:5].tolist()}; fix the labels or the '
                'metainfo classes')
        return labels

    def _check_arrays(self, arrays: Dict[str, np.ndarray], num: int) -> None:
        for name, array in arrays.items():
            if np.ndim(array) == 0 or len(array) != num:
                raise ValueError(
                    f'{self.source}: modality {name!r} has shape '
                    f'{np.shape(array)} but there are {num} labels; the '
                    'first axis must be samples')
            values, samples, first = count_non_finite(array)
            if values:
                raise ValueError(
                    f'{self.source}: modality {name!r} has {values} NaN/inf '
                    f'value(s) in {samples} sample(s) (first: sample '
                    f'{first}); clean the data (e.g. np.nan_to_num) or fix '
                    'the converter that wrote it')

    def load_data_list(self) -> List[dict]:
        arrays, labels, sample_meta = self.load_arrays()
        labels = self._check_labels(labels)
        missing = [m for m in self.modalities if m not in arrays]
        if missing:
            raise ReadableKeyError(
                f'{self.source} has no modality {missing}; it has '
                f'{sorted(arrays)}')
        self.arrays = {m: arrays[m] for m in self.modalities}
        self._check_arrays(self.arrays, len(labels))
        self.sample_meta = dict(sample_meta or {})
        for key, values in self.sample_meta.items():
            if len(values) != len(labels):
                raise ValueError(f'{self.source}: metainfo {key!r} has '
                                 f'{len(values)} entries for {len(labels)} '
                                 'samples')
        return [
            dict(sample_idx=index, gt_label=int(label))
            for index, label in enumerate(labels)
        ]

    def get_data_info(self, idx: int) -> dict:
        # The data list holds only ints (no deepcopy needed, unlike
        # BaseDataset's): the arrays are sliced here.
        index = idx if idx >= 0 else len(self) + idx
        info = dict(self.data_list[idx], sample_idx=index)
        for name, array in self.arrays.items():
            info[name] = np.array(array[index], dtype=np.float32)
        for key, values in self.sample_meta.items():
            info[key] = _python_scalar(values[index])
        info[SAMPLE_META_KEYS] = tuple(self.sample_meta)
        info[FINITE_CHECKED] = True  # scanned when the dataset was built
        return info


def _python_scalar(value):
    """numpy scalars -> Python ones (metainfo is compared and logged)."""
    return value.item() if isinstance(value, np.generic) else value


@DATASETS.register_module()
class MultimodalArrayDataset(InMemoryMultimodalDataset):
    """Precomputed arrays: the quickest way to bring your own data.

    ``ann_file`` is either an ``.npz`` archive or a folder of ``.npy`` files
    (``<key>.npy``), holding one array per modality whose first axis is the
    sample axis, and an integer label array ``label_key`` [N]. Only the
    modalities, the labels and the arrays named in ``meta_keys`` are read;
    anything else in the file (a 0-d config string, speaker ids, ...) is
    ignored. Folders are memory-mapped, so they may exceed memory.

    Example::

        np.savez('data/mine/train.npz', audio=spec,   # [N, 1, 257, 188]
                 visual=frames,                       # [N, 3, T, 224, 224]
                 label=labels,                        # [N] int
                 corrupted=groups)                    # [N] str, optional
        dataset = dict(type='MultimodalArrayDataset',
                       ann_file='data/mine/train.npz',
                       modalities=['audio', 'visual'],
                       meta_keys=['corrupted'],       # -> DataSample metainfo
                       metainfo=dict(classes=[...]),  # labels are checked
                       pipeline=[...])

    Args:
        ann_file (str): The ``.npz`` file or the folder of ``.npy`` files.
        modalities (Sequence[str]): Array names to use as modalities.
        label_key (str): Name of the label array. Defaults to 'label'.
        meta_keys (Sequence[str]): Per-sample arrays [N] to carry into each
            DataSample's metainfo. Defaults to ().
        **kwargs: ``pipeline``, ``metainfo`` (e.g. ``classes``),
            ``data_root``, ``test_mode``, ... as for mmengine's BaseDataset.
    """

    def __init__(self,
                 ann_file: str,
                 modalities: Sequence[str],
                 label_key: str = 'label',
                 meta_keys: Sequence[str] = (),
                 **kwargs):
        self.label_key = label_key
        super().__init__(
            modalities=modalities,
            meta_keys=meta_keys,
            ann_file=ann_file,
            **kwargs)

    def _read(self, keys: Sequence[str]) -> tuple:
        """Every array name in ``ann_file`` and the arrays ``keys`` there."""
        path = self.ann_file
        if osp.isdir(path):
            names = sorted(n[:-4] for n in os.listdir(path)
                           if n.endswith('.npy'))
            return names, {
                key: np.load(osp.join(path, key + '.npy'), mmap_mode='r')
                for key in keys if key in names
            }
        if osp.isfile(path):
            with np.load(path, allow_pickle=False) as archive:
                names = sorted(archive.files)
                return names, {
                    key: archive[key]
                    for key in keys if key in names
                }
        raise FileNotFoundError(
            f'MultimodalArrayDataset: ann_file {path!r} is neither an .npz '
            'file nor a folder of .npy files; check ann_file and data_root')

    def load_arrays(self) -> tuple:
        wanted = list(
            dict.fromkeys(self.modalities + [self.label_key] +
                          list(self.meta_keys)))
        names, arrays = self._read(wanted)
        missing = [key for key in wanted if key not in arrays]
        if missing:
            raise ReadableKeyError(
                f'{self.ann_file!r} has no array(s) {missing}; it has '
                f'{names}. Set modalities / label_key / meta_keys to names '
                'it has')
        sample_meta = {}
        for key in self.meta_keys:
            values = arrays.pop(key)
            if values.ndim != 1:
                raise ValueError(f'{self.ann_file!r}: meta key {key!r} must '
                                 f'be a per-sample array [N], got shape '
                                 f'{values.shape}')
            sample_meta[key] = values
        labels = arrays.pop(self.label_key)
        return arrays, labels, sample_meta
