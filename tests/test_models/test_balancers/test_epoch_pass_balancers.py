"""Re-learning and valuation, the methods that read evaluation passes at an
epoch's end: each against a re-derivation of the official computation with
the authors' own libraries (sklearn's MinMaxScaler and KMeans, NumPy), on
the same model and samples; the passes gathered per sample; the plan a
fixed-length image of the authors' growing epoch."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from rollingq_mm.datasets import PackMultimodalInputs, SyntheticMultimodal
from rollingq_mm.models.balancers import clustering, relearning
from rollingq_mm.models.balancers.epoch_pass import per_sample_pass
from rollingq_mm.models.balancers.valuation import sample_copies
from tests.helpers import set_runtime_info, tiny_classifier

sklearn_cluster = pytest.importorskip('sklearn.cluster')
sklearn_preprocessing = pytest.importorskip('sklearn.preprocessing')


def _loader(split='train', size=48, batch_size=16):
    dataset = SyntheticMultimodal(
        split=split,
        num_samples=size,
        num_classes=4,
        audio_shape=(1, 16, 16),
        visual_shape=(3, 16, 16),
        pipeline=[PackMultimodalInputs(modalities=['audio', 'visual'])])
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=pseudo_collate)


def _official_features(model, loader):
    """The authors' get_feature: eval mode, no grad, pooled encoder
    outputs (here the CLS tokens) and labels, in loader order."""
    model.eval()
    feats, labels = {'audio': [], 'visual': []}, []
    with torch.no_grad():
        for data in loader:
            data = model.data_preprocessor(data, False)
            for m in feats:
                feats[m].append(model.encoders[m](data['inputs'][m])[:, 0])
            labels.append(
                torch.cat([s.gt_label for s in data['data_samples']]))
    model.train()
    return {m: torch.cat(v).numpy() for m, v in feats.items()}, \
        torch.cat(labels).numpy()


def _official_purity(y_true, y_pred):
    """ours.py purity_score (63-95): majority label per cluster."""
    y_voted = np.zeros(y_true.shape)
    labels = np.unique(y_true)
    for k in range(labels.shape[0]):
        y_true[y_true == labels[k]] = k
    bins = np.concatenate((np.unique(y_true), [np.max(y_true) + 1]), axis=0)
    for cluster in np.unique(y_pred):
        hist, _ = np.histogram(y_true[y_pred == cluster], bins=bins)
        y_voted[y_pred == cluster] = np.argmax(hist)
    return float((y_voted == y_true).mean())


def _sklearn_kmeans(features, clusters, **kwargs):
    labels = sklearn_cluster.KMeans(
        n_clusters=clusters, random_state=0,
        n_init=10).fit_predict(features.numpy())
    return torch.from_numpy(labels)


def test_minmax_and_purity_are_the_authors():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(60, 5, generator=gen, dtype=torch.float64)
    theirs = sklearn_preprocessing.MinMaxScaler(
        feature_range=(-1, 1)).fit_transform(features.numpy())
    assert np.allclose(clustering.minmax_scale(features).numpy(), theirs)
    labels = torch.randint(4, (60, ), generator=gen)
    clusters = torch.randint(5, (60, ), generator=gen)
    assert clustering.purity(labels, clusters) == pytest.approx(
        _official_purity(labels.numpy().copy(), clusters.numpy()))


def test_our_kmeans_finds_sklearns_clusters():
    """Six blobs, 10 % of the labels flipped: the same clusters (up to
    their names), so the same purity, as sklearn's KMeans."""
    gen = torch.Generator().manual_seed(1)
    centres = torch.randn(6, 8, generator=gen, dtype=torch.float64) * 6
    labels = torch.arange(300) % 6
    features = centres[labels] + torch.randn(
        300, 8, generator=gen, dtype=torch.float64)
    noisy = labels.clone()
    flip = torch.rand(300, generator=gen) < 0.1
    noisy[flip] = torch.randint(6, (int(flip.sum()), ), generator=gen)
    scaled = clustering.minmax_scale(features)
    ours = clustering.kmeans(scaled, 6)
    theirs = _sklearn_kmeans(scaled, 6)
    assert clustering.purity(noisy, ours) == clustering.purity(noisy, theirs)
    assert clustering.purity(labels, ours) == 1.0
    pairs = set(zip(ours.tolist(), theirs.tolist()))
    assert len(pairs) == 6  # one-to-one


def test_relearning_reinitialises_as_the_authors(monkeypatch):
    """ours.py reinit_score + reinit: purity gap per modality between the
    training and held-out features, α = tanh(3·gap), every encoder
    parameter pulled toward θ_init. k-means is sklearn's on both sides
    (ours is compared to it above)."""
    monkeypatch.setattr(relearning, 'kmeans', _sklearn_kmeans)
    torch.manual_seed(0)
    model = tiny_classifier(balancer=dict(type='ReLearning', interval=2))
    loaders = dict(train=_loader('train'), held_out=_loader('val'))
    set_runtime_info(epoch=0)
    model.balancer.hooked = True
    model.balancer.before_train_epoch(loaders['train'], model)
    initial = copy.deepcopy(model)
    with torch.no_grad():  # training moved the weights since
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    theirs = copy.deepcopy(model)
    set_runtime_info(epoch=1)  # not due: interval 2
    model.balancer.evaluate_splits(loaders, model)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.parameters(), theirs.parameters()))
    set_runtime_info(epoch=2)
    model.balancer.evaluate_splits(loaders, model)
    # the authors' computation
    train, train_labels = _official_features(theirs, loaders['train'])
    val, val_labels = _official_features(theirs, loaders['held_out'])
    weights = {}
    for m in ('audio', 'visual'):
        purities = []
        for feats, labels in ((train[m], train_labels), (val[m], val_labels)):
            scaled = sklearn_preprocessing.MinMaxScaler(
                feature_range=(-1, 1)).fit_transform(feats)
            pred = sklearn_cluster.KMeans(
                n_clusters=4, random_state=0, n_init=10).fit_predict(scaled)
            purities.append(_official_purity(labels.copy(), pred))
        gap = np.abs(purities[0] - purities[1])
        weights[m] = torch.tanh(torch.tensor(3 * gap))
    init = dict(initial.named_parameters())
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            for m in weights:
                if name.startswith(f'encoders.{m}.'):
                    param.data = (weights[m] * init[name] +
                                  (1 - weights[m]) * param.data).float()
    assert any(w > 0 for w in weights.values())
    for (name, a), b in zip(model.named_parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert model.balancer.reinits == 1
    state = model.balancer.state_dict()  # θ_init: every encoder parameter
    assert {f'encoders.{k}'
            for k in state['initial']
            } == {k
                  for k in init if k.startswith('encoders.')}
    for key, value in state['initial'].items():
        assert torch.equal(value, init[f'encoders.{key}']), key


def _official_contributions(model, loader):
    """sample_level.py execute_modulation (75-153): eval mode, features of
    the removed modality zeroed before the concat head, v(S) = |S|·1[right]."""
    model.eval()
    contributions = []
    with torch.no_grad():
        for data in loader:
            data = model.data_preprocessor(data, False)
            a, v = (
                model.encoders[m](data['inputs'][m])[:, 0]
                for m in ('audio', 'visual'))
            fc = model.head.fc
            out = fc(torch.cat([a, v], 1))
            out_v = fc(torch.cat([torch.zeros_like(a), v], 1))
            out_a = fc(torch.cat([a, torch.zeros_like(v)], 1))
            for i, sample in enumerate(data['data_samples']):
                label = int(sample.gt_label)
                value_all = 2.0 if out[i].argmax() == label else 0.0
                value_v = 1.0 if out_v[i].argmax() == label else 0.0
                value_a = 1.0 if out_a[i].argmax() == label else 0.0
                contributions.append(((value_a + value_all - value_v) / 2.0,
                                      (value_v + value_all - value_a) / 2.0))
    model.train()
    return torch.tensor(contributions, dtype=torch.float64)


def _authors_copies(contribution):
    """AV_KS_Dataset_sample_level's thresholds (dataloader.py 154-186)."""
    if 0.4 < contribution < 1:
        return 1
    if -0.1 < contribution < 0.4:
        return 2
    if contribution < -0.1:
        return 3
    return 0


def test_sample_valuation_plan_is_the_authors_epoch():
    torch.manual_seed(0)
    model = tiny_classifier(
        balancer=dict(type='SampleValuation', warmup_epochs=2))
    loader = _loader('train', size=48)
    set_runtime_info(epoch=0)  # warm-up: no plan
    model.balancer.evaluate_splits(dict(train=loader), model)
    assert model.balancer.plan is None
    set_runtime_info(epoch=1)
    model.balancer.evaluate_splits(dict(train=loader), model)
    plan = model.balancer.plan
    phi = _official_contributions(model, loader)
    assert set(phi.flatten().tolist()) <= {-0.5, 0., 0.5, 1., 1.5}
    # the authors' epoch: each sample once, then its copies
    entries = []
    for i, (phi_a, phi_v) in enumerate(phi.tolist()):
        entries.append((i, None))
        entries += [(i, 'visual')] * _authors_copies(phi_a)  # audio only
        entries += [(i, 'audio')] * _authors_copies(phi_v)
    assert len(entries) > 48
    # a draw from our plan has the distribution of a draw from their epoch
    total = plan['weights'].sum()
    for i in range(48):
        share = plan['weights'][i] / total
        for dropped in ('audio', 'visual'):
            ours = share * plan['drop_probs'][dropped][i]
            theirs = entries.count((i, dropped)) / len(entries)
            assert ours.item() == pytest.approx(theirs)
        kept = share * (1 - plan['drop_probs']['audio'][i] -
                        plan['drop_probs']['visual'][i])
        assert kept.item() == pytest.approx(
            entries.count((i, None)) / len(entries))
    assert sample_copies(torch.tensor([-0.5, 0., 0.5, 1., 1.5])).tolist() \
        == [3., 2., 1., 0., 0.]


def test_modality_valuation_plan_is_the_authors_count():
    torch.manual_seed(0)
    model = tiny_classifier(
        balancer=dict(type='ModalityValuation', warmup_epochs=1, alpha=1.))
    loader = _loader('train', size=48)
    # a head that reads audio alone, fitted to its features (least
    # squares), so the modalities' contributions differ
    features, labels = _official_features(model, loader)
    targets = torch.nn.functional.one_hot(torch.from_numpy(labels), 4)
    fit = torch.linalg.lstsq(
        torch.from_numpy(features['audio']).double(),
        targets.double()).solution
    with torch.no_grad():
        model.head.fc.weight.zero_()
        model.head.fc.weight[:, :16] = fit.t().float()
        model.head.fc.bias.zero_()
    loader.sampler.seed = 3  # the run's seed names the part draw
    set_runtime_info(epoch=4)
    model.balancer.evaluate_splits(dict(train=loader), model)
    phi = _official_contributions(model, loader)
    part = torch.randint(
        48, (int(48 * 0.2), ), generator=torch.Generator().manual_seed(3 + 4))
    gap_a, gap_v = 1 - phi[part, 0].mean(), 1 - phi[part, 1].mean()
    copies = int(abs(gap_a - gap_v) / 3 * 2 * 1. * 48)
    assert copies > 0, (phi.mean(0), gap_a, gap_v)
    stronger = 'visual' if gap_a > gap_v else 'audio'
    plan = model.balancer.plan
    assert list(plan['drop_probs']) == [stronger]
    assert torch.allclose(
        plan['drop_probs'][stronger],
        torch.full((48, ), copies / (48 + copies), dtype=torch.float64))
    assert torch.equal(plan['weights'], torch.ones(48, dtype=torch.float64))


def test_a_pass_has_each_sample_once_in_index_order():
    model = tiny_classifier()
    loader = _loader('train', size=20, batch_size=8)
    found = per_sample_pass(
        model, loader, lambda m, d: dict(
            label=torch.cat([s.gt_label for s in d['data_samples']])))
    assert found['sample_idx'].tolist() == list(range(20))
    assert model.training  # its mode again
