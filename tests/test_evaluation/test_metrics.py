import logging

import pytest
import torch

from rollingq_mm.evaluation import (AttentionShare, GroupedAccuracy,
                                    ModalityAccuracy)


def _sample(label, pred, share, cos, corrupted, probes):
    return dict(
        gt_label=torch.tensor([label]),
        pred_label=torch.tensor([pred]),
        attention_share=torch.tensor(share),
        query_key_cos=torch.tensor(cos),
        modalities=['audio', 'visual'],
        corrupted=corrupted,
        probe_scores={
            m: torch.tensor(s)
            for m, s in probes.items()
        })


SAMPLES = [
    _sample(0, 0, [0.6, 0.3], [0.5, 0.1], '',
            dict(audio=[.9, .1], visual=[.2, .8])),
    _sample(1, 0, [0.7, 0.2], [0.3, 0.1], 'audio',
            dict(audio=[.6, .4], visual=[.3, .7])),
    _sample(1, 1, [0.2, 0.7], [0.1, 0.3], 'visual',
            dict(audio=[.1, .9], visual=[.6, .4])),
    _sample(0, 0, [0.4, 0.5], [0.3, 0.3], '',
            dict(audio=[.7, .3], visual=[.9, .1])),
]


def _evaluate(metric):
    metric.process(None, SAMPLES)
    return metric.evaluate(len(SAMPLES))


def test_attention_share_means_air_and_groups():
    assert not any('/clean' in key for key in _evaluate(AttentionShare()))
    out = _evaluate(AttentionShare(group_key='corrupted'))
    assert out['attention_share/audio'] == pytest.approx(
        (.6 + .7 + .2 + .4) / 4)
    assert out['attention_share/visual'] == pytest.approx(
        (.3 + .2 + .7 + .5) / 4)
    assert out['query_key_cos/audio'] == pytest.approx(0.3)
    assert out['query_key_cos/visual'] == pytest.approx(0.2)
    assert out['air'] == pytest.approx(0.1)
    assert out['attention_share/audio/clean'] == pytest.approx(0.5)
    assert out['attention_share/audio/audio_corrupted'] == pytest.approx(0.7)
    assert out['attention_share/visual/visual_corrupted'] == pytest.approx(0.7)


def test_modality_accuracy_of_the_probes():
    out = _evaluate(ModalityAccuracy())
    # audio probe: right on samples 0, 2, 3; visual probe: right on 1 and 3
    assert out == {
        'modality_accuracy/audio': 75.0,
        'modality_accuracy/visual': 50.0
    }


def test_grouped_accuracy():
    out = _evaluate(GroupedAccuracy())
    assert out == {
        'accuracy/clean': 100.0,
        'accuracy/audio_corrupted': 0.0,
        'accuracy/visual_corrupted': 100.0
    }


def test_missing_fields_are_clear_errors():
    bare = dict(gt_label=torch.tensor([0]), pred_label=torch.tensor([0]))
    with pytest.raises(KeyError, match='no attention'):
        AttentionShare().process(None, [bare])
    with pytest.raises(KeyError, match='probe_heads'):
        ModalityAccuracy().process(None, [bare])
    with pytest.raises(KeyError, match='no .{1,3}corrupted.{1,3} metainfo'):
        GroupedAccuracy().process(None, [bare])
    with pytest.raises(KeyError, match='no .{1,3}speaker.{1,3} metainfo'):
        AttentionShare(group_key='speaker').process(None, SAMPLES)


def test_groups_by_any_field_and_declares_what_it_needs():
    samples = [
        dict(s, speaker=name)
        for s, name in zip(SAMPLES, ['ann', 'bo', 'bo', 'ann'])
    ]
    metric = GroupedAccuracy(group_key='speaker')
    assert metric.required_meta_keys == ('speaker', )
    metric.process(None, samples)
    assert metric.evaluate(4) == {'accuracy/ann': 100.0, 'accuracy/bo': 50.0}
    assert AttentionShare().required_meta_keys == ()


@pytest.mark.parametrize('metric_type',
                         [AttentionShare, GroupedAccuracy, ModalityAccuracy])
def test_metrics_build_without_a_prefix_warning_and_take_one(metric_type):
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = []
    handler = type(
        'Capture', (logging.Handler, ),
        dict(emit=lambda self, r: messages.append(r.getMessage())))()
    logger.addHandler(handler)
    try:
        names = _evaluate(metric_type())
    finally:
        logger.removeHandler(handler)
    assert not [m for m in messages if 'prefix' in m]
    assert not any(name.startswith('/') for name in names)
    prefixed = _evaluate(metric_type(prefix='val'))
    assert sorted(prefixed) == sorted(f'val/{name}' for name in names)


@pytest.mark.parametrize('metric', [
    AttentionShare(group_key='corrupted'),
    GroupedAccuracy(),
    ModalityAccuracy()
])
def test_a_batch_moves_to_the_host_once(metric, monkeypatch):
    """On a GPU every per-sample ``.cpu()`` / ``int()`` is a sync; a batch
    makes one transfer, whatever its size."""
    transfers = []
    cpu, item = torch.Tensor.cpu, torch.Tensor.__int__

    def counted(name, original):

        def method(self, *args, **kwargs):
            transfers.append(name)
            return original(self, *args, **kwargs)

        return method

    monkeypatch.setattr(torch.Tensor, 'cpu', counted('cpu', cpu))
    monkeypatch.setattr(torch.Tensor, '__int__', counted('int', item))
    metric.process(None, SAMPLES * 4)
    assert len(transfers) == 1, transfers
