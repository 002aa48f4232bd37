"""WeightedResampler: a fixed-length epoch drawn by per-sample weights,
whose modality-drop flags reach the classifier's fusion."""
import pickle

import pytest
import torch
from mmengine.dataset import pseudo_collate

from rollingq_mm.datasets import (PackMultimodalInputs, SampleKey,
                                  SeededSampler, SyntheticMultimodal,
                                  WeightedResampler)
from tests.helpers import tiny_classifier

# a transform object: the registries' scope stays as the tests leave it
PIPELINE = [PackMultimodalInputs(modalities=['audio', 'visual'])]


def _dataset(size=40):
    return SyntheticMultimodal(
        num_samples=size,
        num_classes=4,
        audio_shape=(1, 16, 16),
        visual_shape=(3, 16, 16),
        pipeline=PIPELINE)


def test_without_a_plan_it_is_the_seeded_sampler():
    dataset = _dataset()
    ours, plain = WeightedResampler(
        dataset, seed=3), SeededSampler(
            dataset, shuffle=True, seed=3)
    for epoch in (0, 2):
        ours.set_epoch(epoch)
        plain.set_epoch(epoch)
        assert list(ours) == list(plain)


def test_the_epoch_keeps_its_length_and_follows_the_weights():
    dataset = _dataset(40)
    sampler = WeightedResampler(dataset, seed=0)
    weights = torch.zeros(40)
    weights[:4] = 1.  # only samples 0-3 can be drawn
    sampler.set_plan(weights)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 40
    assert set(int(k) for k in keys) <= {0, 1, 2, 3}
    # a fixed function of (seed, epoch): the same again, another per epoch
    assert list(sampler) == keys
    sampler.set_epoch(1)
    assert list(sampler) != keys


def test_the_ranks_split_one_draw():
    dataset = _dataset(41)
    plan = dict(
        weights=torch.rand(41, generator=torch.Generator().manual_seed(0)),
        drop_probs=dict(visual=torch.full((41, ), 0.5)))
    ranks = []
    for rank in (0, 1):
        sampler = WeightedResampler(dataset, seed=5)
        sampler.rank, sampler.world_size = rank, 2
        sampler.num_samples, sampler.total_size = 21, 42
        sampler.set_plan(**plan)
        ranks.append(list(sampler))
    single = WeightedResampler(dataset, seed=5)
    single.total_size = 42
    single.set_plan(**plan)
    both = list(single)
    assert ranks[0] == both[0::2] and ranks[1] == both[1::2]
    assert [k.drop for k in ranks[0]] == [k.drop for k in both[0::2]]


def test_drop_flags_follow_their_probabilities_and_reach_the_fusion():
    dataset = _dataset(40)
    sampler = WeightedResampler(dataset, seed=0)
    drop = torch.zeros(40)
    drop[::2] = 1.  # even samples always go without visual
    sampler.set_plan(torch.ones(40), dict(visual=drop))
    keys = list(sampler)
    assert all(k.drop == (('visual', ) if k % 2 == 0 else ()) for k in keys)
    copy = pickle.loads(pickle.dumps(keys[0]))
    assert copy.drop == keys[0].drop
    batch = pseudo_collate([dataset[k] for k in keys[:8]])
    drops = [s.metainfo.get('drop_modalities') for s in batch['data_samples']]
    assert drops == [['visual'] if k % 2 == 0 else None for k in keys[:8]]
    model = tiny_classifier()
    data = model.data_preprocessor(batch, True)
    keep = model._sample_keep_masks(data['data_samples'], 'cpu')
    assert keep['visual'].tolist() == [float(k % 2) for k in keys[:8]]
    assert keep['audio'].tolist() == [1.] * 8
    # the fused loss is the loss of fusing without visual in those samples
    torch.manual_seed(0)
    losses = model.loss(data['inputs'], data['data_samples'])
    tokens = model.encode(data['inputs'])
    logits = model.fused_logits(tokens, keep)
    labels = torch.cat([s.gt_label for s in data['data_samples']])
    expected = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.allclose(losses['loss'], expected, atol=1e-6)
    unmasked = torch.nn.functional.cross_entropy(
        model.fused_logits(tokens), labels)
    assert not torch.allclose(losses['loss'], unmasked, atol=1e-4)


@pytest.mark.parametrize('plan, message', [
    (dict(weights=torch.ones(3)), r'weights must be \[10\]'),
    (dict(weights=-torch.ones(10)), 'non-negative'),
    (dict(weights=torch.zeros(10)), 'not all zero'),
    (dict(drop_probs=dict(visual=torch.full((10, ), 2.))), r'in \[0, 1\]'),
])
def test_a_bad_plan_is_refused(plan, message):
    with pytest.raises(ValueError, match=message):
        WeightedResampler(_dataset(10), seed=0).set_plan(**plan)


def test_an_unknown_dropped_modality_is_refused():
    model = tiny_classifier()
    sample = pseudo_collate([_dataset(2)[SampleKey(0, 0, 0, drop=['depth'])]])
    data = model.data_preprocessor(sample, True)
    with pytest.raises(KeyError, match='depth'):
        model._sample_keep_masks(data['data_samples'], 'cpu')
