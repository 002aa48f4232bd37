"""MultimodalArrayDataset: bring-your-own arrays without traps."""
import os

import numpy as np
import pytest

from rollingq_mm.datasets import MultimodalArrayDataset, array_dataset
from rollingq_mm.datasets.array_dataset import count_non_finite

PACK = [dict(type='PackMultimodalInputs', modalities=['audio', 'visual'])]


def _arrays(num=6, **extra):
    rng = np.random.default_rng(0)
    return dict(
        audio=rng.standard_normal((num, 1, 4, 4)).astype(np.float32),
        visual=rng.standard_normal((num, 3, 2, 2)).astype(np.float32),
        label=np.arange(num) % 3,
        **extra)


def _dataset(path, **kwargs):
    kwargs.setdefault('metainfo', dict(classes=('a', 'b', 'c')))
    return MultimodalArrayDataset(
        ann_file=str(path),
        modalities=['audio', 'visual'],
        pipeline=PACK,
        **kwargs)


def test_other_arrays_are_ignored_unless_named_in_meta_keys(tmp_path):
    groups = np.array(['', 'audio', 'visual', '', '', 'audio'])
    speakers = np.array(['ann', 'bo', 'ann', 'cy', 'bo', 'ann'])
    path = tmp_path / 'train.npz'
    np.savez(
        path,
        info=np.array('{"converter": "v1"}'),
        corrupted=groups,
        speaker=speakers,
        **_arrays())
    dataset = _dataset(path)  # a 0-d string and extra arrays: ignored
    sample = dataset[1]['data_samples']
    assert 'speaker' not in sample and 'corrupted' not in sample
    dataset = _dataset(path, meta_keys=['corrupted', 'speaker'])
    sample = dataset[1]['data_samples']
    assert sample.corrupted == 'audio' and sample.speaker == 'bo'
    assert isinstance(sample.speaker, str)
    assert int(sample.gt_label) == 1


def test_a_folder_of_npy_with_a_pickled_object_is_fine(tmp_path):
    folder = tmp_path / 'mine'
    folder.mkdir()
    for key, value in _arrays().items():
        np.save(folder / f'{key}.npy', value)
    np.save(
        folder / 'notes.npy',
        np.array({'a': 1}, dtype=object),
        allow_pickle=True)  # never read
    dataset = _dataset(folder)
    assert len(dataset) == 6
    assert dataset[0]['inputs']['audio'].shape == (1, 4, 4)


def test_labels_outside_the_classes_fail_at_build(tmp_path):
    arrays = _arrays()
    arrays['label'][[1, 4]] = [3, -1]
    path = tmp_path / 'bad.npz'
    np.savez(path, **arrays)
    with pytest.raises(
            ValueError, match=r"bad.npz'\): 2 label\(s\) are not in \[0, 3\)"):
        _dataset(path)


def test_non_finite_values_fail_at_build_naming_array_and_count(tmp_path):
    arrays = _arrays()
    arrays['visual'][2, 0, 0, 0] = np.nan
    arrays['visual'][4, 1, 1, 1] = np.inf
    arrays['visual'][4, 2, 1, 1] = np.nan
    path = tmp_path / 'nan.npz'
    np.savez(path, **arrays)
    with pytest.raises(
            ValueError,
            match=r"modality 'visual' has 3 NaN/inf "
            r'value\(s\) in 2 sample\(s\) \(first: sample 2\)'):
        _dataset(path)


def test_the_scan_reads_memory_maps_in_chunks(tmp_path, monkeypatch):
    data = np.zeros((100, 8), np.float32)
    data[57, 3] = np.inf
    np.save(tmp_path / 'x.npy', data)
    mapped = np.load(tmp_path / 'x.npy', mmap_mode='r')
    monkeypatch.setattr(array_dataset, 'SCAN_CHUNK_BYTES', 64)  # 2 rows
    assert count_non_finite(mapped) == (1, 1, 57)
    assert count_non_finite(np.arange(3)) == (0, 0, -1)  # integers: no scan


def test_missing_arrays_and_bad_meta_keys_are_named(tmp_path):
    path = tmp_path / 'train.npz'
    np.savez(path, **_arrays())
    with pytest.raises(KeyError, match=r"no array\(s\) \['speaker'\]"):
        _dataset(path, meta_keys=['speaker'])
    with pytest.raises(ValueError, match="write \\['corrupted'\\]"):
        _dataset(path, meta_keys='corrupted')
    with pytest.raises(FileNotFoundError, match='neither an .npz'):
        _dataset(tmp_path / 'nothing.npz')
    assert os.path.exists(path)
