"""Each method's training step against an independent re-derivation of its
official step (``official_steps``), on the same float64 weights and batch:
the parameters after SGD(lr=1) steps must agree to 1e-9, i.e. the
gradients every step applies. Where random draws are involved, both sides
get the same draws (the official codes draw from NumPy or the CPU; ours
from torch on the device)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import nn

from rollingq_mm.engine import BalancedOptimWrapper
from rollingq_mm.models.balancers import CML, OPM
from tests.helpers import set_runtime_info, tiny_classifier
from tests.test_models.test_balancers import official_steps as official

AUX = dict(aux_heads=dict(type='LinearClsHead', num_classes=4))


def _models(balancer, **kwargs):
    torch.manual_seed(0)
    model = tiny_classifier(
        probe_heads=None, balancer=balancer, **kwargs).double()
    if model.balancer is not None:
        model.balancer.hooked = True
    return model, copy.deepcopy(model)


def _batch(seed, size=8):
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        audio=torch.randn(size, 1, 16, 16, generator=gen,
                          dtype=torch.float64),
        visual=torch.randn(size, 3, 16, 16, generator=gen,
                           dtype=torch.float64))
    labels = torch.randperm(size, generator=gen) % 4
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return inputs, samples, labels


def _our_step(model, inputs, samples, wrapper=None):
    """mmengine's train_step without the data preprocessor (float64)."""
    wrapper = wrapper or BalancedOptimWrapper(
        torch.optim.SGD(model.parameters(), lr=1.))
    with wrapper.optim_context(model):
        losses = model.loss(inputs, samples)
    loss, _ = model.parse_losses(losses)
    wrapper.update_params(loss)
    return wrapper


def _assert_same(ours, theirs, atol=1e-9):
    worst = max((a - b).abs().max().item()
                for a, b in zip(ours.parameters(), theirs.parameters()))
    assert worst <= atol, f'largest parameter difference {worst:.3g}'
    moved = [
        name for (name, a), b in zip(ours.named_parameters(),
                                     _initial(ours).parameters())
        if not torch.equal(a, b)
    ]
    assert moved, 'the step changed nothing'


_INITIAL = {}


def _initial(model):
    return _INITIAL[id(model)]


def _run(balancer, official_step, steps=1, kwargs=None, epoch=0):
    ours, theirs = _models(balancer, **(kwargs or {}))
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    wrapper = None
    for step in range(steps):
        set_runtime_info(epoch=epoch, iteration=step)
        inputs, samples, labels = _batch(step)
        wrapper = _our_step(ours, inputs, samples, wrapper)
        official_step(theirs, inputs, labels, step)
        official.sgd_step(theirs)
    return ours, theirs


@pytest.mark.parametrize('boost', [None, 4.0])
def test_ogm_ge_and_ogm_plus(boost):
    cfg = dict(type='OGMGE', alpha=0.8, generalization=False, boost=boost)
    ours, theirs = _run(
        cfg, lambda m, x, y, s: official.ogm(m, x, y, 0.8, boost), steps=2)
    _assert_same(ours, theirs)


def test_pmr():
    cfg = dict(type='PMR', alpha=2.0, fraction=1.0, entropy_weight=0.)
    ours, theirs = _models(cfg)
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    inputs, samples, labels = _batch(0)
    set_runtime_info()
    # the authors' prototypes: class means of the eval-mode features (ours
    # compute them the same way: test_classic_balancers)
    with torch.no_grad():
        feats = official.features(copy.deepcopy(theirs).eval(), inputs)
    prototypes = {
        m: torch.stack([h[labels == k].mean(0) for k in range(4)])
        for m, h in zip(official.MODALITIES, feats)
    }
    ours.balancer.prototypes = dict(prototypes)
    _our_step(ours, inputs, samples)
    official.pmr(theirs, inputs, labels, 2.0, prototypes)
    official.sgd_step(theirs)
    _assert_same(ours, theirs)


def test_agm_three_steps_with_running_scores_and_clip():
    state = {}
    ours, theirs = _run(
        dict(type='AGM', alpha=1.0),
        lambda m, x, y, s: official.agm(m, x, y, state, iteration=s),
        steps=3)
    _assert_same(ours, theirs)
    expected = torch.tensor(state['running'], dtype=torch.float64)
    assert torch.allclose(ours.balancer.running, expected, atol=1e-12)


def test_agm_after_its_window_is_plain_training():
    """Ours: coefficients 1 after end_epoch (the authors keep the last
    window step's scales: a documented difference)."""
    ours, theirs = _run(
        dict(type='AGM', alpha=1.0, clip=None, end_epoch=0),
        lambda m, x, y, s: _plain(m, x, y),
        epoch=1)
    _assert_same(ours, theirs)


def _plain(model, inputs, labels):
    official.zero_grad(model)
    torch.nn.functional.cross_entropy(
        official.fused(model, *official.features(model, inputs)),
        labels).backward()


def test_inforeg_prox_in_the_window_and_the_fisher_trace():
    ours, theirs = _models(dict(type='InfoReg'))
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    set_runtime_info()
    ours.balancer.before_train_epoch(None, ours)
    anchor = {
        m: {n: p.detach().clone()
            for n, p in theirs.encoders[m].named_parameters()}
        for m in official.MODALITIES
    }
    fisher = {}
    wrapper = None
    for step in range(3):
        set_runtime_info(iteration=step)
        inputs, samples, labels = _batch(step)
        wrapper = _our_step(ours, inputs, samples, wrapper)
        official.inforeg(theirs, inputs, labels, anchor, fisher, k=1.)
        official.sgd_step(theirs)
    _assert_same(ours, theirs)
    ours.balancer.after_train_epoch(ours)
    for name in official.MODALITIES:
        assert ours.balancer.traces[name][-1] == pytest.approx(
            official.inforeg_trace(fisher, name), rel=1e-6)
    # the next epoch's k from the history: (T1 - 0) / T1 = 1 > 0.05
    assert ours.balancer.window_k() == pytest.approx(1.)


def test_inforeg_outside_the_window_adds_nothing():
    ours, theirs = _models(dict(type='InfoReg'))
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    set_runtime_info()
    ours.balancer.traces['audio'] += [5.] * 11  # flat trace: k = 0
    ours.balancer.before_train_epoch(None, ours)
    assert ours.balancer.k == 0 and not ours.balancer.in_window
    inputs, samples, labels = _batch(0)
    _our_step(ours, inputs, samples)
    anchor = {
        m: dict(theirs.encoders[m].named_parameters())
        for m in official.MODALITIES
    }
    official.inforeg(theirs, inputs, labels, anchor, {}, k=0.)
    official.sgd_step(theirs)
    _assert_same(ours, theirs)


def test_opm_drops_the_dominant_modality_and_rescales(monkeypatch):
    uniform = torch.rand(2, 8, generator=torch.Generator().manual_seed(3),
                         dtype=torch.float64)
    seen = {}

    def draw(self, q, batch):
        seen['q'] = q.tolist()
        return torch.tensor(True), (uniform < (1 - q)[:, None]).float()

    monkeypatch.setattr(OPM, 'draw', draw)
    expected = {}

    def step(model, inputs, labels, _):
        expected['q'] = official.opm(model, inputs, labels, uniform)

    ours, theirs = _run(dict(type='OPM', start_epoch=0), step)
    _assert_same(ours, theirs)
    assert seen['q'] == pytest.approx(expected['q'], abs=1e-12)
    assert sum(q > 0 for q in seen['q']) == 1  # the dominant one only


def test_dgl():
    ours, theirs = _run(dict(type='DGL', alpha=4.0),
                        lambda m, x, y, s: official.dgl(m, x, y))
    _assert_same(ours, theirs)


def test_cml(monkeypatch):
    removed = torch.tensor([0, 1, 1, 0, 0, 1, 0, 1])

    def draw_chain(self, batch, device):
        return [dict(audio=(removed != 0).double(),
                     visual=(removed != 1).double())]

    monkeypatch.setattr(CML, 'draw_chain', draw_chain)
    ours, theirs = _run(
        dict(type='CML', weight=0.1),
        lambda m, x, y, s: official.cml(m, x, y, removed, beta=10),
        steps=2)
    _assert_same(ours, theirs)


def test_mmcosine():
    ours, theirs = _run(
        dict(type='MMCosine', scale=10.),
        lambda m, x, y, s: official.mmcosine(m, x, y, 10.),
        steps=2)
    _assert_same(ours, theirs)


def test_mbsd():
    ours, theirs = _run(
        dict(type='MBSD'), lambda m, x, y, s: official.mbsd(m, x, y), steps=2)
    _assert_same(ours, theirs)


def test_gblending():
    weights = dict(fused=0.5, audio=0.2, visual=0.3)
    ours, theirs = _run(
        dict(type='GBlending', weights=weights),
        lambda m, x, y, s: official.gblending(m, x, y, weights),
        kwargs=AUX)
    _assert_same(ours, theirs)


def test_the_harness_sees_a_wrong_step():
    """Negative control: a method against another method's official step
    must fail the comparison."""
    with pytest.raises(AssertionError, match='largest parameter'):
        ours, theirs = _run(
            dict(type='DGL', alpha=4.0),
            lambda m, x, y, s: official.dgl(m, x, y, alpha=3.0))
        _assert_same(ours, theirs)
    assert isinstance(nn.Identity(), nn.Module)


def _two_class_logits(confidence, right):
    """Logits whose softmax is [c, 1 - c] (label 0 predicted) or
    [1 - c, c] (label 1 predicted)."""
    c = torch.tensor(confidence, dtype=torch.float64)
    pair = torch.stack([c.log(), (1 - c).log()], dim=1)
    return torch.where(torch.tensor(right)[:, None], pair, pair.flip(1))


def test_cml_hinges_each_sample_not_the_batch_sum():
    """The official hinge per sample: 0.3 + 0.05 where the confidence rose
    (BalanceBenchmark's hinge of the batch sum gives relu(-0.05) = 0);
    samples whose confidence fell get no gradient; where both inputs are
    wrong only the reduced input's confidence is pushed."""
    labels = torch.zeros(5, dtype=torch.long)
    fuller = _two_class_logits([.6, .8, .8, .7, .7],
                               [True, True, True, True, False])
    reduced = _two_class_logits([.9, .6, .6, .75, .8],
                                [True, True, True, True, False])
    fuller.requires_grad_(True)
    reduced.requires_grad_(True)
    balancer = CML()
    value = balancer.regulariser([fuller, reduced], labels)
    # samples 0-3: fuller right; sample 4: both wrong, 0.8 - 0.7
    assert value.item() == pytest.approx(0.3 + 0.05 + 0.1)
    value.backward()
    assert fuller.grad[1:3].abs().max() == 0 == reduced.grad[1:3].abs().max()
    assert fuller.grad[4].abs().max() == 0  # detached where both are wrong
    assert reduced.grad[4].abs().max() > 0


def test_mmpareto():
    seen = []

    def step(model, inputs, labels, _):
        seen.append(official.mmpareto(model, inputs, labels))

    ours, theirs = _run(dict(type='MMPareto', gamma=1.5), step, steps=3,
                        kwargs=AUX)
    _assert_same(ours, theirs)
    weights = [w for step_weights in seen for w in step_weights.values()]
    assert 0.5 in weights and any(w != 0.5 for w in weights)  # both rules


# ------------------------------------------------------ phased methods
SHARED = dict(neck=dict(type='SumFusion', embed_dims=16, pool='cls'))


def _phased_run(balancer,
                official_step,
                steps,
                epoch=0,
                epoch_length=4,
                prepare=None):
    """Our BalancedTrainLoop iteration: one train_step per phase."""
    ours, theirs = _models(balancer, **SHARED)
    for model in (ours, theirs):
        if prepare is not None:
            prepare(model)
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    ours.balancer._epoch_length = epoch_length
    wrapper = None
    for step in range(steps):
        set_runtime_info(epoch=epoch, iteration=epoch * epoch_length + step)
        inputs, samples, labels = _batch(step)
        for phase in ours.balancer.iteration_phases():
            with ours.balancer.in_phase(phase):
                wrapper = _our_step(ours, inputs, samples, wrapper)
        official_step(theirs, inputs, labels, step)
        official.sgd_step(theirs)
    return ours, theirs


@pytest.mark.parametrize('projection', [False, True])
def test_mla_alternating_steps(projection):
    """Two iterations of two steps each (audio, then visual through the
    head audio just updated); with the projection as the plugin writes it,
    P carried across steps and the first step of training skipped."""
    state = dict(P=torch.eye(16, dtype=torch.float64), count=0)
    ours, theirs = _phased_run(
        dict(type='MLA', projection=projection),
        lambda m, x, y, s: official.mla(m, x, y, state, s, 4, projection),
        steps=3,
        epoch=1)
    _assert_same(ours, theirs)
    if projection:
        assert torch.allclose(ours.balancer.projector, state['P'], atol=1e-9)
        assert ours.balancer.projected_steps == state['count'] == 6


@pytest.mark.parametrize('epoch, phase', [(0, 'audio'), (1, 'correction'),
                                          (2, 'visual')])
def test_reconboost_stage_and_correction(epoch, phase):
    cfg = dict(type='ReconBoost', stage_epochs=1, correction_epochs=1)

    def boost_rate_seven_tenths(model):  # not 1: its factor must show
        with torch.no_grad():
            model.balancer_parameters['boost_rate'].fill_(0.7)

    ours, theirs = _phased_run(
        cfg,
        lambda m, x, y, s: official.reconboost(m, x, y, phase),
        steps=2,
        epoch=epoch,
        prepare=boost_rate_seven_tenths)
    assert ours.balancer.phase_of_epoch(epoch) == phase
    _assert_same(ours, theirs)
    rate = ours.balancer_parameters['boost_rate']
    assert (rate.item() != 0.7) == (phase == 'correction')


def test_umt_distils_from_frozen_teachers(tmp_path):
    from rollingq_mm.registry import MODELS
    from tests.helpers import unimodal_teacher
    teachers = {
        m: unimodal_teacher(tmp_path, m, seed=i + 1)
        for i, m in enumerate(official.MODALITIES)
    }
    theirs_teachers = {}
    for m, cfg in teachers.items():
        theirs_teachers[m] = MODELS.build(cfg['config']).double()
        theirs_teachers[m].load_state_dict({
            k: v.double()
            for k, v in torch.load(cfg['checkpoint'])['state_dict'].items()
        })
    cfg = dict(type='UMT', teachers=teachers, weight=2.0)
    ours, theirs = _run(
        cfg,
        lambda m, x, y, s: official.umt(m, x, y, theirs_teachers, 2.0),
        steps=2)
    _assert_same(ours, theirs)
    # the teachers did not move, and are not the student's parameters
    for m in official.MODALITIES:
        held = ours.balancer_modules['teachers'][m].teacher
        for a, b in zip(held.parameters(), theirs_teachers[m].parameters()):
            assert torch.equal(a, b)
    assert not any('teacher' in n for n, _ in ours.named_parameters())


@pytest.mark.parametrize('schedule, epoch', [('heuristic', 3),
                                             ('heuristic', 20),
                                             ('fitted', 7)])
def test_lfm_weighs_ce_and_alignment(schedule, epoch):
    import math
    if schedule == 'heuristic':
        align = min(max(math.exp(-0.3 * epoch), 0.05), 0.95)
    else:  # the authors' polynomial
        coef = [2.04623704e-01, 3.35472727e-03, 1.22989557e-04,
                -2.92947416e-06, 2.23835486e-08, -5.39717505e-11]
        align = 1 - sum(c * (epoch**i) for i, c in enumerate(coef))
    ours, theirs = _run(
        dict(type='LFM', schedule=schedule),
        lambda m, x, y, s: official.lfm(m, x, y, [1 - align, align]),
        steps=2,
        epoch=epoch)
    _assert_same(ours, theirs)


def test_lfm_learned_weight_is_the_authors_hessian_step():
    from mmengine.dataset import pseudo_collate

    from rollingq_mm.datasets import PackMultimodalInputs, SyntheticMultimodal

    # a large step from the middle, so that it shows and is not clipped
    ours, theirs = _models(dict(type='LFM', schedule='learned', lr_alpha=1e4))
    ours.balancer.align_weight = 0.5
    dataset = SyntheticMultimodal(
        split='val',
        num_samples=16,
        num_classes=4,
        audio_shape=(1, 16, 16),
        visual_shape=(3, 16, 16),
        pipeline=[PackMultimodalInputs(modalities=['audio', 'visual'])])
    batch = pseudo_collate([dataset[i] for i in range(16)])
    set_runtime_info(epoch=4)
    ours.float()
    theirs.float()
    ours.balancer.evaluate_splits(dict(held_out=[batch]), ours)
    data = theirs.data_preprocessor(batch, False)
    labels = torch.cat([s.gt_label for s in data['data_samples']])[:8]
    from torch.nn.attention import SDPBackend, sdpa_kernel
    with sdpa_kernel([SDPBackend.MATH]):  # double backward
        expected = official.lfm_learned_alpha(
            theirs, {m: x[:8]
                     for m, x in data['inputs'].items()}, labels,
            [0.5, 0.5], 1e4)
    assert ours.balancer.align_weight == pytest.approx(expected, rel=1e-5)
    assert abs(ours.balancer.align_weight - 0.5) > 1e-3


def test_amco_masks_the_dependent_modality():
    """Three steps of epoch 2: no mask, then the dependent modality's
    logits masked with 2 and 4 zero classes (p_t 0.87, 1), the dependence
    carried from step to step; both sides draw the same masks."""
    ours, theirs = _models(dict(type='AMCo'))
    _INITIAL[id(ours)] = copy.deepcopy(ours)
    params = theirs.balancer_parameters

    def star(x):  # their linear_star: the same weights, stepped by SGD
        return F.linear(x, params['amco_star_weight'],
                        params['amco_star_bias'])

    dependent, ramp, wrapper, masked = [False, False], 0., None, []
    for step in range(3):
        set_runtime_info(epoch=2, iteration=step)
        inputs, samples, labels = _batch(step)
        torch.manual_seed(step)
        wrapper = _our_step(ours, inputs, samples, wrapper)
        torch.manual_seed(step)
        masked.append(any(dependent))
        dependent = official.amco(theirs, inputs, labels, star, dependent,
                                  ramp)
        official.sgd_step(theirs)
        ramp += 2 / 10
        assert ours.balancer.dependent.tolist() == dependent
    _assert_same(ours, theirs)
    assert any(masked), 'no step masked: the test would not see the mask'
