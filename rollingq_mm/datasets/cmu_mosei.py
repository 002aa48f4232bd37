"""CMU-MOSEI sentiment from the MulT / MultiBench feature pickle."""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger

from rollingq_mm.registry import DATASETS
from .array_dataset import InMemoryMultimodalDataset

# our modality name -> key in the pickle
MOSEI_KEYS = {'text': 'text', 'audio': 'audio', 'visual': 'vision'}
SPLITS = {'train': 'train', 'valid': 'valid', 'val': 'valid', 'test': 'test'}
LABEL_RULES = {
    # MultiBench / MulT "Acc-2": positive vs. the rest
    'positive': (('non-positive', 'positive'), lambda y: y > 0),
    # BalanceBench (the RollingQ README's preprocessing): y >= 0 -> 1
    'non_negative': (('negative', 'non-negative'), lambda y: y >= 0),
}


@DATASETS.register_module()
class CMUMOSEI(InMemoryMultimodalDataset):
    """CMU-MOSEI binary sentiment from ``mosei_senti_data{,_noalign}.pkl``.

    The pickle (MulT / MultiBench release) is ``{train, valid, test}`` ×
    ``{vision [N, L, 35], audio [N, L, 74], text [N, L, 300], labels
    [N, 1, 1] in [-3, 3], id}``; the aligned file has L = 50 for every
    modality, the unaligned one text 50, audio and vision 500. Our modality
    names ``text``, ``audio``, ``visual`` map to the keys ``text``,
    ``audio``, ``vision``; any two, or all three, may be used.

    Non-finite feature values (the audio features hold -inf) are set to 0,
    with the count logged. Labels are binarised by ``label_rule``:

    * ``'non_negative'``: y >= 0 -> 1 (BalanceBench, whose preprocessing the
      RollingQ authors point to);
    * ``'positive'``: y > 0 -> 1 (MultiBench / MulT "Acc-2").

    ``exclude_zero=True`` drops samples with y == 0 (MulT's "non-zero"
    Acc-2), after which both rules agree.

    Args:
        ann_file (str): The pickle, relative to ``data_root``.
        split (str): ``'train'``, ``'valid'`` (or ``'val'``) or ``'test'``.
        modalities (Sequence[str]): Defaults to all three.
        label_rule (str): ``'non_negative'`` or ``'positive'``. Defaults to
            'non_negative'.
        exclude_zero (bool): Drop y == 0 samples. Defaults to False.
        **kwargs: ``data_root``, ``pipeline``, ``test_mode``, ... (mmengine
            BaseDataset).
    """

    def __init__(self,
                 ann_file: str,
                 split: str = 'train',
                 modalities: Sequence[str] = ('text', 'audio', 'visual'),
                 label_rule: str = 'non_negative',
                 exclude_zero: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'CMUMOSEI: split must be one of {list(SPLITS)}'
                             f', got {split!r}')
        if label_rule not in LABEL_RULES:
            raise ValueError(f'CMUMOSEI: label_rule must be one of '
                             f'{list(LABEL_RULES)}, got {label_rule!r}')
        unknown = set(modalities) - set(MOSEI_KEYS)
        if isinstance(modalities, str) or len(modalities) < 1 or unknown:
            raise ValueError(f'CMUMOSEI: modalities must be names from '
                             f'{list(MOSEI_KEYS)}, got {modalities!r}')
        self.split = SPLITS[split]
        self.label_rule = label_rule
        self.exclude_zero = exclude_zero
        if metainfo is None:
            metainfo = dict(classes=LABEL_RULES[label_rule][0])
        super().__init__(
            modalities=modalities,
            ann_file=ann_file,
            metainfo=metainfo,
            **kwargs)

    def _read_split(self) -> dict:
        path = self.ann_file
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'CMUMOSEI: {path!r} does not exist; download '
                'mosei_senti_data.pkl or mosei_senti_data_noalign.pkl (see '
                'docs/datasets.md) and check data_root / ann_file')
        with open(path, 'rb') as f:
            try:
                data = pickle.load(f)
            except UnicodeDecodeError:  # pickles written by Python 2
                f.seek(0)
                data = pickle.load(f, encoding='latin1')
        if not isinstance(data, dict) or self.split not in data:
            keys = sorted(data) if isinstance(data, dict) else type(data)
            raise KeyError(f'{path}: expected a dict with the split '
                           f'{self.split!r}, got {keys}; is this the '
                           'MulT / MultiBench MOSEI pickle?')
        return data[self.split]

    def _features(self, split: dict, name: str) -> np.ndarray:
        key = MOSEI_KEYS[name]
        where = f'{self.ann_file} [{self.split!r}][{key!r}]'
        if key not in split:
            raise KeyError(f'{where} is missing; the split has '
                           f'{sorted(split)}')
        array = np.asarray(split[key], dtype=np.float32)
        if array.ndim != 3:
            raise ValueError(f'{where} has shape {array.shape}; expected '
                             f'[N, L, F] features for modality {name!r}')
        bad = ~np.isfinite(array)
        count = int(bad.sum())
        if count:
            array = array.copy() if not array.flags.writeable else array
            array[bad] = 0.
            MMLogger.get_current_instance().warning(
                f'CMUMOSEI {self.split}: set {count} non-finite value(s) '
                f'({count / array.size:.2%}) of {name!r} to 0')
        return array

    def _labels(self, split: dict, num: int) -> np.ndarray:
        where = f'{self.ann_file} [{self.split!r}][\'labels\']'
        if 'labels' not in split:
            raise KeyError(f'{where} is missing; the split has '
                           f'{sorted(split)}')
        labels = np.asarray(split['labels'], dtype=np.float64)
        if labels.size != num or labels.shape[0] != num:
            raise ValueError(f'{where} has shape {labels.shape}; expected '
                             f'[{num}, 1, 1] sentiment scores')
        return labels.reshape(num)

    @staticmethod
    def _ids(split: dict, num: int) -> List[str]:
        ids = split.get('id')
        if ids is None:
            return [str(i) for i in range(num)]

        def text(value) -> str:
            if isinstance(value, bytes):
                return value.decode('utf-8', 'replace')
            if isinstance(value, (list, tuple, np.ndarray)):
                return '_'.join(text(part) for part in value)
            return str(value)

        ids = [text(value) for value in ids]
        if len(ids) != num:
            raise ValueError(f'the split has {num} samples but {len(ids)} '
                             'ids; the pickle is inconsistent')
        return ids

    def load_arrays(self) -> tuple:
        """Features of ``modalities``, binary labels and clip ids."""
        split = self._read_split()
        arrays: Dict[str, np.ndarray] = {
            name: self._features(split, name)
            for name in self.modalities
        }
        num = len(next(iter(arrays.values())))
        scores = self._labels(split, num)
        ids = self._ids(split, num)
        keep = np.flatnonzero(scores != 0) if self.exclude_zero else None
        if keep is not None:
            arrays = {name: array[keep] for name, array in arrays.items()}
            scores, ids = scores[keep], [ids[i] for i in keep]
        labels = LABEL_RULES[self.label_rule][1](scores).astype(np.int64)
        MMLogger.get_current_instance().info(
            f'CMUMOSEI {self.split}: {len(labels)} samples, ' +
            ', '.join(f'{n} {tuple(a.shape[1:])}' for n, a in arrays.items()) +
            f', {labels.mean():.1%} label 1 ({self.label_rule})')
        return arrays, labels, dict(clip_id=ids)
