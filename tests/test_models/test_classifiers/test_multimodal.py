import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from tests.helpers import TINY_VIT, tiny_classifier


def _model(neck=None, **kwargs):
    kwargs.setdefault(
        'data_preprocessor',
        dict(
            type='MultimodalDataPreprocessor',
            normalize=dict(visual=dict(mean=[1., 2., 3.], std=[2., 2., 2.]))))
    kwargs.setdefault(
        'head', dict(type='LinearClsHead', num_classes=4, in_channels=16))
    return tiny_classifier(
        neck or dict(type='AttentionFusion', embed_dims=16), **kwargs)


def _batch(size=4):
    return dict(
        inputs=dict(
            audio=torch.randn(size, 1, 16, 16),
            visual=torch.randn(size, 3, 16, 16)),
        data_samples=[DataSample().set_gt_label(i % 4) for i in range(size)])


def test_loss_has_fusion_and_detached_probe_losses():
    model = _model()
    data = model.data_preprocessor(_batch())
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss', 'loss_probe_audio', 'loss_probe_visual'}
    # probes are detached: their loss sends no gradient into the encoders
    losses['loss_probe_audio'].backward()
    assert model.encoders['audio'].model.patch_embed.proj.weight.grad is None
    assert model.probe_heads['audio'].fc.weight.grad is not None


def test_predict_carries_probe_scores_and_attention_stats():
    model = _model().eval()
    data = model.data_preprocessor(_batch())
    samples = model(**data, mode='predict')
    assert len(samples) == 4
    sample = samples[0]
    assert sample.pred_score.shape == (4, )
    assert set(sample.probe_scores) == {'audio', 'visual'}
    assert sample.probe_scores['audio'].sum().item() == pytest.approx(1.0)
    assert sample.attention_share.shape == (2, )
    assert sample.query_key_cos.shape == (2, )
    assert sample.modalities == ['audio', 'visual']
    logits = model(**data, mode='tensor')
    assert logits.shape == (4, 4)


def test_concat_model_and_train_step():
    model = _model(
        neck=dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=32))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(_batch(), wrapper)
    assert torch.isfinite(log['loss'])
    sample = model.val_step(_batch())[0]
    assert 'attention_share' not in sample


def test_preprocessor_normalises_per_modality():
    model = _model()
    batch = _batch()
    data = model.data_preprocessor(batch)
    expected = (batch['inputs']['visual'] -
                torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)) / 2
    assert torch.allclose(data['inputs']['visual'], expected)
    assert torch.equal(data['inputs']['audio'], batch['inputs']['audio'])
    # a list of per-sample dicts (pseudo_collate) is stacked the same way
    listed = dict(
        inputs=[{
            m: x[i]
            for m, x in batch['inputs'].items()
        } for i in range(4)],
        data_samples=batch['data_samples'])
    assert torch.allclose(
        model.data_preprocessor(listed)['inputs']['visual'], expected)


def test_bad_inputs_are_clear_errors():
    model = _model()
    batch = _batch()
    del batch['inputs']['visual']
    with pytest.raises(KeyError, match="missing \\['visual'\\]"):
        model(**model.data_preprocessor(batch), mode='tensor')
    bad = _batch()
    bad['inputs']['visual'] = torch.randn(4, 1, 16, 16)
    with pytest.raises(ValueError, match="'visual'.*3 channel"):
        model.data_preprocessor(bad)
    with pytest.raises(KeyError, match='unknown modalities'):
        _model(
            probe_heads=dict(
                text=dict(type='LinearClsHead', num_classes=4,
                          in_channels=16)))


CNN = dict(type='TimmEncoder', model_name='resnet18', in_chans=3)


def test_head_and_probes_start_from_the_authors_init():
    model = _model()
    model.init_weights()
    head, probe = model.head.fc, model.probe_heads['visual'].fc
    for layer in (head, probe, model.neck.layers[0].q):
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
        fan_in, fan_out = layer.weight.shape[1], layer.weight.shape[0]
        xavier = (2 / (fan_in + fan_out))**0.5
        assert layer.weight.std().item() == pytest.approx(xavier, rel=0.3)
    # mmpretrain's LinearClsHead default would be Normal(std=0.01)
    assert head.weight.std().item() > 0.1


def test_init_cfg_of_encoders_and_probe_heads_is_honoured():
    constant = dict(type='Constant', val=0.25, layer='Linear')
    model = _model(
        encoders=dict(
            audio=dict(TINY_VIT, in_chans=1, init_cfg=constant),
            visual=dict(TINY_VIT, in_chans=3)),
        probe_heads=dict(
            type='LinearClsHead', num_classes=4, init_cfg=constant))
    model.init_weights()
    audio_fc = model.encoders['audio'].model.blocks[0].mlp.fc1.weight
    assert torch.all(audio_fc == 0.25)
    visual_fc = model.encoders['visual'].model.blocks[0].mlp.fc1.weight
    assert not torch.all(visual_fc == 0.25)  # timm's own init, untouched
    assert torch.all(model.probe_heads['audio'].fc.weight == 0.25)
    assert not torch.all(model.head.fc.weight == 0.25)


def test_pooling_follows_the_encoders_cls_declaration():
    model = _model(
        encoders=dict(audio=dict(TINY_VIT, in_chans=1), visual=CNN),
        neck=dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4))  # in_channels filled
    assert model.cls_tokens == dict(audio=True, visual=False)
    assert model.neck.pools == dict(audio='cls', visual='mean')
    assert model.probe_pools == dict(audio='cls', visual='mean')
    assert model.head.in_channels == 16 + 512
    batch = _batch()
    batch['inputs']['visual'] = torch.randn(4, 3, 32, 32)
    model.eval()
    data = model.data_preprocessor(batch)
    tokens = model.encode(data['inputs'])
    fused = model.extract_feat(data['inputs'])
    assert torch.allclose(fused[:, 16:], tokens['visual'].mean(1))
    with pytest.raises(ValueError, match="'visual' .*resnet18.*no CLS"):
        _model(
            encoders=dict(audio=dict(TINY_VIT, in_chans=1), visual=CNN),
            neck=dict(type='ConcatFusion', pool='cls'),
            head=dict(type='LinearClsHead', num_classes=4))
    with pytest.raises(ValueError, match="probe_pool='cls'.*'visual'"):
        _model(
            encoders=dict(audio=dict(TINY_VIT, in_chans=1), visual=CNN),
            neck=dict(type='ConcatFusion'),
            probe_pool='cls',
            head=dict(type='LinearClsHead', num_classes=4))


def test_a_head_width_that_does_not_fit_is_an_error_at_build():
    with pytest.raises(ValueError, match='head.in_channels is 16 .* width 32'):
        _model(neck=dict(type='ConcatFusion'))
