"""Datasets whose modalities are arrays held in memory (or memory-mapped)."""
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from rollingq_mm.registry import DATASETS


class InMemoryMultimodalDataset(BaseDataset):
    """Base for datasets given as ``{modality: array[N, ...]}`` + labels [N].

    Samples are sliced lazily in :meth:`get_data_info`, so the arrays are
    never copied per sample (``serialize_data`` is off).

    Subclasses implement :meth:`load_arrays`, returning the arrays, the labels
    and optionally per-sample metainfo lists.
    """

    def __init__(self, modalities: Sequence[str], **kwargs):
        if isinstance(modalities, str) or not modalities:
            raise ValueError('modalities must be a non-empty list of names, '
                             f'got {modalities!r}')
        self.modalities = list(modalities)
        self.arrays: Dict[str, np.ndarray] = {}
        self.sample_meta: Dict[str, list] = {}
        kwargs.setdefault('serialize_data', False)
        super().__init__(**kwargs)

    def load_arrays(self) -> tuple:
        """Returns ``(arrays, labels, sample_meta)``; see the class doc."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        arrays, labels, sample_meta = self.load_arrays()
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f'labels must be a 1-D integer array, got shape '
                             f'{labels.shape} and dtype {labels.dtype}')
        for name, array in arrays.items():
            if len(array) != len(labels):
                raise ValueError(
                    f'modality {name!r} has {len(array)} samples but there are '
                    f'{len(labels)} labels; the first axis must be samples')
        self.arrays = {m: arrays[m] for m in self.modalities}
        self.sample_meta = sample_meta or {}
        return [
            dict(sample_idx=index, gt_label=int(label))
            for index, label in enumerate(labels)
        ]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        index = info['sample_idx']
        for name, array in self.arrays.items():
            info[name] = np.asarray(array[index], dtype=np.float32)
        for key, values in self.sample_meta.items():
            info[key] = values[index]
        return info


@DATASETS.register_module()
class MultimodalArrayDataset(InMemoryMultimodalDataset):
    """Precomputed arrays: the quickest way to bring your own data.

    ``ann_file`` is either an ``.npz`` archive or a folder of ``.npy`` files
    (``<key>.npy``), holding one array per modality whose first axis is the
    sample axis, and an integer label array ``label_key`` [N]. Other arrays
    are ignored. Folders are memory-mapped, so they may exceed memory.

    Example::

        np.savez('data/mine/train.npz', audio=spec,   # [N, 1, 257, 188]
                 visual=frames,                       # [N, 3, T, 224, 224]
                 label=labels)                        # [N] int
        dataset = dict(type='MultimodalArrayDataset',
                       ann_file='data/mine/train.npz',
                       modalities=['audio', 'visual'], pipeline=[...])

    Args:
        ann_file (str): The ``.npz`` file or the folder of ``.npy`` files.
        modalities (Sequence[str]): Array names to use as modalities.
        label_key (str): Name of the label array. Defaults to 'label'.
        **kwargs: ``pipeline``, ``metainfo`` (e.g. ``classes``),
            ``data_root``, ``test_mode``, ... as for mmengine's BaseDataset.
    """

    def __init__(self,
                 ann_file: str,
                 modalities: Sequence[str],
                 label_key: str = 'label',
                 **kwargs):
        self.label_key = label_key
        super().__init__(modalities=modalities, ann_file=ann_file, **kwargs)

    def _open(self) -> Dict[str, np.ndarray]:
        path = self.ann_file
        if osp.isdir(path):
            return {
                name[:-4]: np.load(osp.join(path, name), mmap_mode='r')
                for name in sorted(os.listdir(path)) if name.endswith('.npy')
            }
        if osp.isfile(path):
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        raise FileNotFoundError(
            f'MultimodalArrayDataset: ann_file {path!r} is neither an .npz '
            'file nor a folder of .npy files; check ann_file and data_root')

    def load_arrays(self) -> tuple:
        arrays = self._open()
        wanted = self.modalities + [self.label_key]
        missing = [key for key in wanted if key not in arrays]
        if missing:
            raise KeyError(
                f'{self.ann_file!r} has no array(s) {missing}; it has '
                f'{sorted(arrays)}. Set modalities / label_key to names it has')
        return arrays, arrays[self.label_key], None
