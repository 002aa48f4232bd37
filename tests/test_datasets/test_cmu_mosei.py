"""CMUMOSEI: the MulT / MultiBench pickle, label rules, cleaning, errors."""
import logging
import pickle

import numpy as np
import pytest
from dataset_fixtures import make_mosei
from mmengine.logging import MMLogger

from rollingq_mm.registry import DATASETS


def _build(path, **kwargs):
    modalities = kwargs.pop('modalities', ['text', 'audio', 'visual'])
    cfg = dict(
        type='CMUMOSEI',
        ann_file=str(path),
        modalities=modalities,
        pipeline=[dict(type='PackMultimodalInputs', modalities=modalities)])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_three_modalities_shapes_and_cleaning(tmp_path):
    path = tmp_path / 'mosei_senti_data.pkl'
    labels = make_mosei(str(path))
    logger, handler = MMLogger.get_current_instance(), _Records()
    logger.addHandler(handler)
    try:
        dataset = _build(path, split='train')
    finally:
        logger.removeHandler(handler)
    warnings = [
        r.getMessage() for r in handler.records if r.levelno == logging.WARNING
    ]
    assert warnings == [
        "CMUMOSEI train: set 2 non-finite value(s) (0.06%) "
        "of 'audio' to 0"
    ]
    assert len(dataset) == len(labels['train'])
    sample = dataset[0]
    assert {
        k: tuple(v.shape)
        for k, v in sample['inputs'].items()
    } == {
        'text': (8, 300),
        'audio': (8, 74),
        'visual': (8, 35)
    }
    assert all(
        np.isfinite(dataset.get_data_info(i)['audio']).all()
        for i in range(len(dataset)))
    assert sample['data_samples'].clip_id == 'vid0_0_1'


@pytest.mark.parametrize('rule,expected', [
    ('non_negative', [0, 0, 1, 1, 1]),
    ('positive', [0, 0, 0, 1, 1]),
])
def test_label_rules_and_splits(tmp_path, rule, expected):
    path = tmp_path / 'mosei.pkl'
    make_mosei(str(path))
    for split in ('valid', 'val', 'test'):
        dataset = _build(path, split=split, label_rule=rule)
        got = [dataset.get_data_info(i)['gt_label'] for i in range(5)]
        assert got == expected
    dataset = _build(path, split='test', label_rule=rule, exclude_zero=True)
    assert [dataset.get_data_info(i)['gt_label']
            for i in range(4)] == [0, 0, 1, 1]


def test_two_modalities_and_unaligned_lengths(tmp_path):
    path = tmp_path / 'mosei_senti_data_noalign.pkl'
    make_mosei(str(path), lengths=dict(text=5, audio=12, vision=9))
    dataset = _build(path, modalities=['text', 'visual'])
    sample = dataset[1]
    assert set(sample['inputs']) == {'text', 'visual'}
    assert tuple(sample['inputs']['visual'].shape) == (9, 35)


def test_bad_input_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pkl.*docs/datasets.md'):
        _build(tmp_path / 'nope.pkl')
    with pytest.raises(ValueError, match='label_rule'):
        _build(tmp_path / 'nope.pkl', label_rule='median')
    with pytest.raises(ValueError, match='modalities'):
        _build(tmp_path / 'nope.pkl', modalities=['vision'])
    path = tmp_path / 'bad.pkl'
    make_mosei(str(path))
    with open(path, 'rb') as f:
        data = pickle.load(f)
    data['train']['vision'] = data['train']['vision'][:, :, 0]
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    with pytest.raises(
            ValueError,
            match=r"bad.pkl \['train'\]\['vision'\] "
            r'has shape \(6, 8\).*\[N, L, F\]'):
        _build(path)
    with open(path, 'wb') as f:
        pickle.dump({'training': {}}, f)
    with pytest.raises(KeyError, match="split 'train'.*training"):
        _build(path)
