"""The balance methods' core formulas against hand computations."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from rollingq_mm.engine import BalancedOptimWrapper
from rollingq_mm.models.balancers import OGMGE, PMR, MMPareto, pareto_weight
from rollingq_mm.models.balancers.base import receiving_step_context
from rollingq_mm.registry import MODELS
from tests.helpers import TINY_VIT, set_runtime_info, tiny_classifier


def _model(neck=None, **kwargs):
    return tiny_classifier(neck, **kwargs)


def _batch(model, size=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        audio=torch.randn(size, 1, 16, 16, generator=gen),
        visual=torch.randn(size, 3, 16, 16, generator=gen))
    samples = [DataSample().set_gt_label(i % 4) for i in range(size)]
    return inputs, samples


def _wrapper(model):
    return SimpleNamespace(balance_model=model, scaled=lambda loss: loss)


class _Receiver:
    """Stands in for the optim wrapper that takes the step's context."""

    context = None

    def receive_balance_context(self, context):
        self.context = context


def _loss_and_context(model, inputs, samples):
    """The training forward's losses and the context it hands over."""
    receiver = _Receiver()
    with receiving_step_context(receiver):
        losses = model.loss(inputs, samples)
    return losses, receiver.context


def test_aux_heads_train_the_encoders_and_probes_do_not():
    model = _model(
        aux_heads=dict(type='LinearClsHead', num_classes=4),
        aux_loss_weight=dict(audio=0.5, visual=2.0))
    inputs, samples = _batch(model)
    losses = model.loss(inputs, samples)
    assert {
        'loss', 'loss_aux_audio', 'loss_aux_visual', 'loss_probe_audio',
        'loss_probe_visual'
    } <= set(losses)
    pooled = model.pool_modalities(model.encode(inputs))
    expected = F.cross_entropy(model.aux_heads['visual'].fc(pooled['visual']),
                               torch.arange(6) % 4)
    assert losses['loss_aux_visual'].item() == pytest.approx(
        2.0 * expected.item(), rel=1e-5)
    losses['loss_aux_audio'].backward()
    assert model.encoders['audio'].model.patch_embed.proj.weight.grad \
        is not None
    assert model.encoders['visual'].model.patch_embed.proj.weight.grad is None


@pytest.mark.parametrize('neck', [
    dict(type='ConcatFusion'),
    dict(type='SumFusion', embed_dims=12),
    dict(type='ConcatFusion', pool='mean')
])
def test_the_necks_split_of_the_fused_logits_sums_to_them(neck):
    model = _model(neck, balancer=dict(type='OGMGE'))
    assert model.splits_logits and model.balancer.source == 'fusion'
    inputs, samples = _batch(model)
    model.balancer.hooked = True
    _, context = _loss_and_context(model, inputs, samples)
    parts = model.balancer.modality_logits(model, context)
    assert set(parts) == {'audio', 'visual'}
    assert torch.allclose(
        parts['audio'] + parts['visual'], context.fused_logits, atol=1e-5)
    # each part depends on its own modality only
    tokens = dict(
        context.tokens, visual=torch.zeros_like(context.tokens['visual']))
    assert torch.equal(model.modality_logits(tokens)['audio'], parts['audio'])


def test_fusion_that_does_not_split_leaves_ogm_ge_to_the_probes():
    attention = _model(
        neck=dict(type='AttentionFusion', embed_dims=16),
        balancer=dict(type='OGMGE'))
    assert not attention.splits_logits and attention.balancer.source == 'probe'
    inputs, _ = _batch(attention)
    assert attention.modality_logits(attention.encode(inputs)) is None
    hidden = _model(
        head=dict(
            type='StackedLinearClsHead', num_classes=4, mid_channels=[8]),
        balancer=dict(type='OGMGE'))
    assert hidden.head_linear() is None and hidden.balancer.source == 'probe'
    with pytest.raises(ValueError, match='linear head'):
        _model(
            neck=dict(type='AttentionFusion', embed_dims=16),
            balancer=dict(type='OGMGE', confidence='fusion'))


def test_ogm_ge_coefficients_and_modulated_gradients():
    balancer = OGMGE(alpha=0.5, generalization=False)
    balancer.modalities = ['audio', 'visual']
    balancer.unimodal.source = 'probe'
    labels = torch.tensor([0, 1, 1])
    logits = dict(
        audio=torch.tensor([[3., 0.], [0., 2.], [0., 1.]]),
        visual=torch.tensor([[0., 0.], [1., 0.], [0., 0.]]))
    context = SimpleNamespace(probe_logits=logits, labels=labels)
    k = balancer.coefficients(None, context)
    s_a = sum(
        torch.softmax(logits['audio'], -1)[i, y] for i, y in enumerate(labels))
    s_v = sum(
        torch.softmax(logits['visual'], -1)[i, y]
        for i, y in enumerate(labels))
    ratio = (s_a / s_v).item()
    assert ratio > 1
    assert k['audio'].item() == pytest.approx(
        1 - torch.tanh(torch.tensor(0.5 * ratio)).item(), rel=1e-6)
    assert k['visual'].item() == 1.0
    # the gradients of audio's weights (dim > 1) are scaled by k_audio
    model = _model(
        balancer=dict(type='OGMGE', alpha=0.5, generalization=False))
    model.balancer.hooked = True
    set_runtime_info()
    inputs, samples = _batch(model)
    losses, context = _loss_and_context(model, inputs, samples)
    losses['loss'].backward()
    weight = model.encoders['audio'].model.blocks[0].mlp.fc1.weight
    bias = model.encoders['audio'].model.blocks[0].mlp.fc1.bias
    before_w, before_b = weight.grad.clone(), bias.grad.clone()
    k = model.balancer.coefficients(model, context)
    model.balancer.modify_gradients(_wrapper(model), context)
    assert torch.allclose(weight.grad, k['audio'] * before_w, atol=1e-7)
    assert torch.equal(bias.grad, before_b)  # 1-D: not modulated


def test_ogm_ge_noise_has_the_gradients_std_and_is_seeded():

    def modulated(seed):
        torch.manual_seed(0)
        model = _model(
            balancer=dict(
                type='OGMGE', alpha=0., generalization=True, seed=seed))
        model.balancer.hooked = True
        inputs, samples = _batch(model)
        losses, context = _loss_and_context(model, inputs, samples)
        losses['loss'].backward()
        weight = model.encoders['visual'].model.blocks[0].attn.qkv.weight
        before = weight.grad.clone()
        set_runtime_info(iteration=3)  # the runner's, in its MessageHub
        model.balancer.modify_gradients(_wrapper(model), context)
        return before, weight.grad.clone()

    before, after = modulated(seed=1)
    noise = after - before  # alpha=0: k = 1, only the noise
    assert noise.std().item() == pytest.approx(before.std().item(), rel=0.1)
    assert torch.equal(modulated(seed=1)[1], after)  # same on every rank
    assert not torch.equal(modulated(seed=2)[1], after)


def test_pmr_prototypes_loss_and_entropy():
    balancer = PMR(alpha=2.0, entropy_weight=0.1, entropy_epochs=1)
    balancer.modalities, balancer.hooked = ['audio', 'visual'], True
    set_runtime_info(epoch=0)
    balancer.prototypes = dict(
        audio=torch.tensor([[0., 0.], [4., 0.]]),
        visual=torch.tensor([[0., 0.], [1., 0.]]))
    pooled = dict(
        audio=torch.tensor([[0., 1.], [4., 1.]]),
        visual=torch.tensor([[1., 0.], [0., 0.]]))
    labels = torch.tensor([0, 1])
    context = SimpleNamespace(pooled=pooled, labels=labels)
    losses = balancer.extra_losses(None, context)
    # audio's prototypes are far apart: it is ahead, visual gets the loss
    sim_v = -torch.cdist(pooled['visual'], balancer.prototypes['visual'])
    assert losses['loss_pmr_audio'].item() == 0
    assert losses['loss_pmr_visual'].item() == pytest.approx(
        2.0 * F.cross_entropy(sim_v, labels).item(), rel=1e-6)
    sim_a = -torch.cdist(pooled['audio'], balancer.prototypes['audio'])
    p = sim_a.softmax(-1)
    entropy = -(p * p.log()).sum(-1).mean()
    assert losses['loss_pmr_entropy'].item() == pytest.approx(
        -0.1 * entropy.item(), rel=1e-5)
    set_runtime_info(epoch=1)  # past entropy_epochs
    assert 'loss_pmr_entropy' not in balancer.extra_losses(None, context)


def test_pmr_prototypes_are_class_means_of_the_pooled_features():
    model = _model(balancer=dict(type='PMR', fraction=1.0))
    model.eval()
    inputs, samples = _batch(model, size=8)
    loader = [dict(inputs=inputs, data_samples=samples)]
    model.balancer.before_train_epoch(loader, model)
    with torch.no_grad():
        pooled = model.pool_modalities(model.encode(inputs))
    labels = torch.arange(8) % 4
    for name, prototypes in model.balancer.prototypes.items():
        for label in range(4):
            assert torch.allclose(
                prototypes[label],
                pooled[name][labels == label].mean(0),
                atol=1e-5)


def test_pareto_weight_is_the_min_norm_point():
    torch.manual_seed(0)
    g_mm, g_u = torch.randn(10), torch.randn(10)
    g_u = g_u - 2 * (g_u @ g_mm) / (g_mm @ g_mm) * g_mm  # conflicting
    grid = torch.linspace(0.001, 0.999, 9981)
    norms = ((grid[:, None] * g_mm + (1 - grid[:, None]) * g_u)**2).sum(-1)
    assert pareto_weight(g_mm, g_u).item() == pytest.approx(
        grid[norms.argmin()].item(), abs=2e-4)


def test_mmpareto_gradients():
    model = _model(
        aux_heads=dict(type='LinearClsHead', num_classes=4),
        balancer=dict(type='MMPareto', gamma=1.5))
    model.balancer.hooked = True
    set_runtime_info()
    inputs, samples = _batch(model)
    losses, context = _loss_and_context(model, inputs, samples)
    params = model.balancer._params['audio']
    g_mm = torch.autograd.grad(
        losses['loss'], params, retain_graph=True, allow_unused=True)
    g_u = torch.autograd.grad(
        losses['loss_aux_audio'], params, retain_graph=True, allow_unused=True)
    wrapper = _wrapper(model)
    model.balancer.before_backward(wrapper, context)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    summed = [p.grad.clone() for p in params]
    model.balancer.modify_gradients(wrapper, context)
    flat_mm = torch.cat([g.flatten() for g in g_mm])
    flat_u = torch.cat([g.flatten() for g in g_u])
    cos = F.cosine_similarity(flat_mm, flat_u, dim=0)
    w = 0.5 if cos > 0 else pareto_weight(flat_mm, flat_u).item()
    for p, a, b, total in zip(params, g_mm, g_u, summed):
        new = 2 * (w * a + (1 - w) * b)
        scale = max(1., (total.norm() / new.norm()).item())
        assert torch.allclose(p.grad, 1.5 * scale * new, atol=1e-6)
    with pytest.raises(ValueError, match='aux_heads'):
        _model(balancer=dict(type='MMPareto'))


def test_balancers_refuse_one_modality_and_bad_arguments():
    single = MODELS.build(
        dict(
            type='MultimodalClassifier',
            encoders=dict(audio=dict(TINY_VIT, in_chans=1)),
            neck=dict(type='ConcatFusion'),
            head=dict(type='LinearClsHead', num_classes=4)))
    with pytest.raises(ValueError, match='two or more'):
        OGMGE().bind(single)
    with pytest.raises(ValueError, match='confidence'):
        OGMGE(confidence='logits')
    with pytest.raises(ValueError, match='momentum'):
        PMR(momentum=1.5)
    with pytest.raises(ValueError, match='gamma'):
        MMPareto(gamma=0)
    balancer = OGMGE()
    with pytest.raises(RuntimeError, match='BalanceHook'):
        balancer.check_hooked()


def test_epoch_means_leave_out_the_steps_a_loss_scaler_skips():
    """fp16: a step whose gradients overflowed gives NaN cosines; the
    epoch's mean is over the finite steps (NaN only if none was)."""
    from rollingq_mm.models.balancers.base import BaseBalancer
    balancer = BaseBalancer()
    for value in (0.5, float('nan'), 1.5, float('inf')):
        balancer.track(
            cos_audio=torch.tensor(value), never=torch.tensor(float('nan')))
    scalars = balancer.epoch_scalars()
    assert scalars['cos_audio'] == 1.0
    assert scalars['never'] != scalars['never']  # NaN: no finite step
    assert balancer.epoch_scalars() == {}  # reset


def test_only_the_optim_wrapper_holds_a_steps_context_until_its_step():
    """The forward hands a gradient balancer's context to the wrapper open
    around it (none for a loss balancer); the wrapper drops it at its step,
    and nothing on the model or the balancer keeps the step's tensors."""
    from tests.test_engine.test_amp import _batch, _hooked
    for balancer, handed in ((dict(type='PMR'), False), (dict(type='OGMGE'),
                                                         True)):
        model = tiny_classifier(balancer=balancer)
        wrapper = BalancedOptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.01))
        batch = _batch(16)
        _hooked(model, batch)
        with wrapper.optim_context(model):
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
        assert (wrapper._balance_context is not None) == handed
        assert not hasattr(model.balancer, 'context')
        wrapper.update_params(sum(v for v in losses.values()))
        assert wrapper._balance_context is None


def test_a_gradient_step_without_its_forward_fails_clearly():
    model = tiny_classifier(balancer=dict(type='OGMGE'))
    wrapper = BalancedOptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.01))
    with wrapper.optim_context(model):
        pass  # no training forward inside
    loss = model.head.fc.weight.sum()
    with pytest.raises(RuntimeError, match='optim_context'):
        wrapper.update_params(loss)


def test_the_first_training_forward_without_balance_hook_fails():
    model = tiny_classifier(balancer=dict(type='PMR'))
    inputs, samples = _batch(model)
    with pytest.raises(RuntimeError, match="dict\\(type='BalanceHook'\\)"):
        model.loss(inputs, samples)


def test_balancers_read_epoch_and_iteration_from_the_message_hub():
    balancer = OGMGE(start_epoch=2, end_epoch=3)
    for epoch, active in ((1, False), (2, True), (3, True), (4, False)):
        set_runtime_info(epoch=epoch, iteration=10 * epoch)
        assert (balancer.epoch, balancer.iteration) == (epoch, 10 * epoch)
        assert balancer.active == active
