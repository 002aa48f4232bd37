"""Pack per-modality data into the model's inputs dict."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from rollingq_mm.registry import TRANSFORMS
from ..array_dataset import FINITE_CHECKED, SAMPLE_META_KEYS


@TRANSFORMS.register_module()
class PackMultimodalInputs(BaseTransform):
    """Pack ``results[m]`` of each modality into ``inputs`` and a DataSample.

    Required keys: each of ``modalities`` (array or Tensor), ``gt_label``.
    Produces ``dict(inputs={m: Tensor}, data_samples=DataSample)`` with the
    ``meta_keys`` that are present copied into the DataSample's metainfo,
    together with the per-sample metainfo keys the dataset declares
    (``results['sample_meta_keys']``, e.g. a ``MultimodalArrayDataset``'s
    ``meta_keys``), so the pipeline need not repeat them.
    Non-finite values are refused here, on the CPU, so that the training step
    needs no check (unless the dataset scanned its arrays when it was built
    and says so with ``results['_finite_checked']``).

    Args:
        modalities (Sequence[str]): Modalities to pack, e.g.
            ``['audio', 'visual']``.
        meta_keys (Sequence[str]): Keys copied to the metainfo when present.
            Defaults to ``('sample_idx', 'clip_id', 'corrupted',
            'noise_level', 'drop_modalities')``.
    """

    draws_random = False  # no reseeding per sample (SeededSamplesMixin)

    def __init__(self,
                 modalities: Sequence[str],
                 meta_keys: Sequence[str] = ('sample_idx', 'clip_id',
                                             'corrupted', 'noise_level',
                                             'drop_modalities')):
        if isinstance(modalities, str) or not modalities:
            raise ValueError('modalities must be a non-empty list of names, '
                             f'got {modalities!r}')
        self.modalities = list(modalities)
        self.meta_keys = tuple(meta_keys)

    def _sample_name(self, results: dict) -> str:
        for key in ('clip_id', 'sample_idx'):
            if key in results:
                return f'{key}={results[key]}'
        return 'sample'

    def transform(self, results: dict) -> dict:
        inputs = {}
        for name in self.modalities:
            if name not in results:
                raise KeyError(
                    f'{self._sample_name(results)} has no modality {name!r} '
                    f'(has {sorted(k for k in results if k[:1] != "_")}); '
                    'check the dataset\'s modalities and the pipeline')
            value = results[name]
            tensor = value if isinstance(value, torch.Tensor) else \
                torch.from_numpy(np.ascontiguousarray(value))
            if tensor.is_floating_point() and not results.get(
                    FINITE_CHECKED) and not torch.isfinite(tensor).all():
                raise ValueError(
                    f'{self._sample_name(results)}: modality {name!r} has NaN '
                    'or inf values; clean the data (e.g. np.nan_to_num) or '
                    'fix the converter that wrote it')
            inputs[name] = tensor
        sample = DataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        keys = self.meta_keys + tuple(results.get(SAMPLE_META_KEYS, ()))
        sample.set_metainfo({k: results[k] for k in keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(modalities={self.modalities}, '
                f'meta_keys={self.meta_keys})')
