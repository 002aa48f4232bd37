"""The balancer contract's shared parts, each against a computation made
another way: removing a modality per sample (attention: as if its tokens
were not there; static fusion: its feature zeroed), the fused loss over the
kept samples, fusion on detached inputs, unscaling under AMP."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from rollingq_mm.engine import BalancedOptimWrapper
from rollingq_mm.models.balancers import BaseBalancer
from rollingq_mm.models.balancers.base import samples_kept
from rollingq_mm.registry import MODELS
from tests.helpers import set_runtime_info, tiny_classifier


def _inputs(size=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        audio=torch.randn(size, 1, 16, 16, generator=gen),
        visual=torch.randn(size, 3, 16, 16, generator=gen))
    return inputs, [DataSample().set_gt_label(i % 4) for i in range(size)]


@pytest.mark.parametrize('layers', [1, 2])
def test_attention_without_a_modality_is_attention_over_the_others(layers):
    model = tiny_classifier(
        dict(type='AttentionFusion', embed_dims=16, num_layers=layers))
    model.eval()
    inputs, _ = _inputs()
    tokens = model.encode(inputs)
    keep = dict(
        audio=torch.tensor([1., 1., 0., 1., 0., 1.]),
        visual=torch.tensor([1., 0., 1., 1., 1., 1.]))
    with torch.no_grad():
        masked = model.fused_logits(tokens, keep)
        only_audio = model.head((model.neck(dict(audio=tokens['audio']))[0], ))
        only_visual = model.head((model.neck(dict(visual=tokens['visual']))[0],
                                  ))
        both = model.head((model.neck(tokens)[0], ))
    assert torch.allclose(masked[1], only_audio[1], atol=1e-6)
    assert torch.allclose(masked[[2, 4]], only_visual[[2, 4]], atol=1e-6)
    assert torch.allclose(masked[[0, 3, 5]], both[[0, 3, 5]], atol=1e-6)
    assert not torch.allclose(masked[1], both[1], atol=1e-4)


@pytest.mark.parametrize('neck', [
    dict(type='ConcatFusion'),
    dict(type='SumFusion', embed_dims=12)
])
def test_static_fusion_without_a_modality_zeroes_its_feature(neck):
    """The official codes of OPM, AGM and CML remove a modality from concat
    / sum fusion by zeroing its encoder feature."""
    model = tiny_classifier(neck)
    inputs, _ = _inputs()
    tokens = model.encode(inputs)
    keep = dict(visual=torch.tensor([1., 0., 1., 0., 1., 1.]))
    zeroed = dict(tokens, visual=tokens['visual'] * keep['visual'].view(
        -1, 1, 1))
    assert torch.equal(
        model.fused_logits(tokens, keep),
        model.head((model.neck(zeroed)[0], )))


class _DropVisual(BaseBalancer):
    """Removes visual from the given samples, audio from sample 0."""

    def __init__(self, visual_keep, audio_keep):
        super().__init__()
        self.keep = dict(audio=audio_keep, visual=visual_keep)

    def modulate_tokens(self, model, tokens, labels):
        return tokens, self.keep


def test_samples_that_keep_no_modality_leave_the_fused_loss():
    audio = torch.tensor([0., 1., 1., 1., 1., 0.])
    visual = torch.tensor([0., 0., 1., 1., 0., 1.])
    assert samples_kept(dict(audio=audio, visual=visual),
                        ['audio', 'visual']).tolist() == [0, 1, 1, 1, 1, 1]
    assert samples_kept(dict(audio=audio), ['audio', 'visual']) is None
    model = tiny_classifier(balancer=_DropVisual(visual, audio))
    model.balancer.hooked = True
    set_runtime_info()
    inputs, samples = _inputs()
    loss = model.loss(inputs, samples)['loss']
    logits = model.fused_logits(
        model.encode(inputs), dict(audio=audio, visual=visual))
    labels = torch.arange(6) % 4
    expected = F.cross_entropy(logits[1:], labels[1:])  # sample 0 is empty
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_detached_fusion_inputs_leave_the_encoders_to_the_unimodal_losses():
    with pytest.raises(ValueError, match='aux_heads'):
        tiny_classifier(detach_fusion_inputs=True)
    model = tiny_classifier(
        detach_fusion_inputs=True,
        aux_heads=dict(type='LinearClsHead', num_classes=4))
    inputs, samples = _inputs()
    losses = model.loss(inputs, samples)
    losses['loss'].backward()
    assert all(p.grad is None for p in model.encoders.parameters())
    assert model.head.fc.weight.grad is not None
    losses['loss_aux_audio'].backward()
    assert model.encoders['audio'].model.patch_embed.proj.weight.grad \
        is not None


def test_unscale_gradients_divides_by_the_loss_scale_once():
    """An additive balancer (InfoReg) works in true units under AMP."""
    from torch.amp import GradScaler
    param = torch.nn.Parameter(torch.ones(3))
    wrapper = BalancedOptimWrapper(torch.optim.SGD([param], lr=1.))
    wrapper.unscale_gradients()  # no scaler: nothing happens
    scaler = GradScaler('cpu', init_scale=8.)
    wrapper.loss_scaler = scaler
    (scaler.scale(param.sum())).backward()
    assert param.grad.tolist() == [8.] * 3
    wrapper.unscale_gradients()
    assert param.grad.tolist() == [1.] * 3
    scaler.step(wrapper.optimizer)  # does not unscale a second time
    assert param.tolist() == [0.] * 3


def test_every_registered_balancer_builds_with_its_defaults():
    from rollingq_mm.models import balancers
    for name in balancers.__all__:
        cls = getattr(balancers, name)
        if isinstance(cls, type) and issubclass(cls, BaseBalancer) and \
                cls is not BaseBalancer:
            assert MODELS.get(name) is cls, name


def test_mmcosine_refuses_attention_and_predicts_with_its_logits():
    with pytest.raises(ValueError, match='no per-modality'):
        tiny_classifier(
            dict(type='AttentionFusion', embed_dims=16),
            balancer=dict(type='MMCosine'))
    model = tiny_classifier(balancer=dict(type='MMCosine', scale=10.))
    model.eval()
    inputs, samples = _inputs()
    with torch.no_grad():
        scores = torch.stack(
            [s.pred_score for s in model.predict(inputs, samples)])
        tokens = model.encode(inputs)
        h_a, h_v = (tokens[m][:, 0] for m in ('audio', 'visual'))
        weight = model.head.fc.weight
        width = h_a.shape[1]
        cosine = F.normalize(h_a, dim=1) @ F.normalize(
            weight[:, :width], dim=1).t() + F.normalize(
                h_v, dim=1) @ F.normalize(weight[:, width:], dim=1).t()
    assert torch.allclose(scores, (10 * cosine).softmax(-1), atol=1e-6)
    assert torch.allclose(model(inputs, mode='tensor'), 10 * cosine,
                          atol=1e-5)


def test_methods_that_need_unimodal_heads_say_so_on_attention():
    attention = dict(type='AttentionFusion', embed_dims=16)
    for balancer in ('InfoReg', 'MBSD', 'GBlending'):
        cfg = dict(type=balancer)
        if balancer == 'GBlending':
            cfg['weights'] = dict(fused=.5, audio=.25, visual=.25)
        with pytest.raises(ValueError, match='aux_heads'):
            tiny_classifier(attention, balancer=cfg)
