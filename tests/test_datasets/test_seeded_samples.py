"""SeededSampler + SeededSamplesMixin: each sample's random draws are a
function of (seed, epoch, sample index, transform position)."""
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler

from rollingq_mm.datasets import SampleKey, SeededSampler, SyntheticMultimodal


class DrawEverywhere:
    """Records one draw from each global generator under ``name``."""

    def __init__(self, name):
        self.name = name

    def __call__(self, results):
        results[self.name] = (np.random.random(), random.random(),
                              torch.rand(()).item())
        return results


def _dataset(num_transforms=2):
    # transform objects, not registered types: the registries stay as
    # the package leaves them for the other tests
    pipeline = [DrawEverywhere(f'draw{i}') for i in range(num_transforms)]
    return SyntheticMultimodal(
        num_samples=16, modalities=['audio', 'visual'], pipeline=pipeline)


def test_a_sample_key_is_an_index_that_crosses_processes():
    key = SampleKey(5, seed=3, epoch=7)
    assert key == 5 and [10, 11, 12, 13, 14, 15][key] == 15
    copy = pickle.loads(pickle.dumps(key))
    assert (int(copy), copy.seed, copy.epoch) == (5, 3, 7)
    assert repr(copy) == 'SampleKey(5, seed=3, epoch=7)'


def test_the_sampler_keeps_default_samplers_order_and_adds_seed_and_epoch():
    dataset = _dataset()
    ours = SeededSampler(dataset, shuffle=True, seed=4)
    theirs = DefaultSampler(dataset, shuffle=True, seed=4)
    for epoch in (0, 3):
        ours.set_epoch(epoch)
        theirs.set_epoch(epoch)
        keys = list(ours)
        assert [int(k) for k in keys] == list(theirs)
        assert {(k.seed, k.epoch) for k in keys} == {(4, epoch)}


def test_a_key_gives_the_same_sample_whatever_the_global_state():
    dataset = _dataset()
    key = SampleKey(3, seed=0, epoch=1)
    torch.manual_seed(1)
    first = dataset[key]
    np.random.seed(99)
    random.seed(99)
    torch.manual_seed(99)
    assert dataset[key]['draw0'] == first['draw0']
    assert dataset[key]['draw1'] == first['draw1']


def test_streams_differ_by_epoch_sample_seed_and_transform():
    dataset = _dataset()
    base = dataset[SampleKey(3, seed=0, epoch=1)]
    others = [
        dataset[SampleKey(3, seed=0,
                          epoch=2)], dataset[SampleKey(4, seed=0, epoch=1)],
        dataset[SampleKey(3, seed=1, epoch=1)]
    ]
    assert all(o['draw0'] != base['draw0'] for o in others)
    assert base['draw0'] != base['draw1']  # one stream per transform
    # a transform appended later leaves the earlier ones' draws alone
    longer = _dataset(3)[SampleKey(3, seed=0, epoch=1)]
    assert (longer['draw0'], longer['draw1']) == (base['draw0'], base['draw1'])


def test_loading_a_keyed_sample_leaves_the_global_generators_alone():
    dataset = _dataset()
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    dataset[SampleKey(2, seed=0, epoch=0)]
    after = (torch.rand(()).item(), np.random.random(), random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    assert after == (torch.rand(
        ()).item(), np.random.random(), random.random())


def test_a_plain_index_draws_from_the_global_generators():
    dataset = _dataset()

    def seed_all():
        np.random.seed(0)
        random.seed(0)
        torch.manual_seed(0)

    seed_all()
    first = dataset[3]['draw0']
    seed_all()
    assert dataset[3]['draw0'] == first
    assert dataset[3]['draw0'] != first  # the global streams moved on


def _as_list(batch):
    return batch


@pytest.mark.parametrize('num_workers, persistent', [(0, False), (2, False),
                                                     (2, True)])
def test_a_loader_gives_the_same_batches_with_any_workers(
        num_workers, persistent):
    from torch.utils.data import DataLoader
    dataset = _dataset()
    sampler = SeededSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(
        dataset,
        batch_size=4,
        sampler=sampler,
        num_workers=num_workers,
        persistent_workers=persistent,
        collate_fn=_as_list)
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        epochs.append([d['draw0'] for batch in loader for d in batch])
    reference = _dataset()
    expected = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        expected.append([reference[k]['draw0'] for k in sampler])
    assert epochs == expected
    assert epochs[0] != epochs[1]


def test_a_batch_is_its_samples_and_restores_the_generators_once():
    dataset = _dataset()
    keys = [SampleKey(i, seed=0, epoch=2) for i in (5, 1, 9)]
    torch.manual_seed(3)
    batch = dataset.__getitems__(keys)
    after = torch.rand(())
    one_by_one = [dataset[k] for k in keys]
    assert [(b['draw0'], b['draw1'])
            for b in batch] == [(b['draw0'], b['draw1']) for b in one_by_one]
    torch.manual_seed(3)
    assert torch.equal(torch.rand(()), after)  # the batch drew nothing


def test_a_transform_that_draws_nothing_is_not_reseeded(monkeypatch):
    from rollingq_mm.datasets import seeded_samples
    from rollingq_mm.datasets.transforms import PackMultimodalInputs
    assert PackMultimodalInputs.draws_random is False
    seeded = []
    monkeypatch.setattr(seeded_samples, 'seed_global_generators',
                        lambda counters: seeded.append(counters[-1]))
    dataset = SyntheticMultimodal(
        num_samples=4,
        modalities=['audio', 'visual'],
        pipeline=[
            DrawEverywhere('draw'),
            dict(type='PackMultimodalInputs', modalities=['audio', 'visual'])
        ])
    dataset[SampleKey(0, seed=0, epoch=0)]
    assert seeded == [0]  # the drawing transform only
