"""Every timm family is a token encoder: tokens [B, N, num_features] read
in the model's own output layout, and a forward + loss under concat and
attention + RollingQ."""
import pytest
import torch

from rollingq_mm.models.encoders.timm_encoder import (TimmEncoder,
                                                      feature_tokens)
from tests.helpers import tiny_classifier

VIT = dict(embed_dim=16, depth=1, num_heads=2, img_size=32, patch_size=8)
# (model name, small-size arguments, token count, CLS token at 0) at 32x32
# (64x64 for the hierarchical transformers)
FAMILIES = {
    'vit': ('vit_tiny_patch16_224', VIT, 17, True),
    'vit-no-cls': ('vit_tiny_patch16_224',
                   dict(VIT, class_token=False, global_pool='avg'), 16, False),
    'deit-distilled': ('deit_tiny_distilled_patch16_224', VIT, 18, True),
    'eva': ('eva02_tiny_patch14_224', dict(VIT, patch_size=8,
                                           mlp_ratio=2.0), 17, True),
    'beit': ('beit_base_patch16_224', dict(VIT), 17, True),
    'swin': ('swin_tiny_patch4_window7_224',
             dict(
                 img_size=64,
                 window_size=2,
                 embed_dim=16,
                 depths=(1, 1, 1, 1),
                 num_heads=(1, 1, 1, 1)), 4, False),
    'convnext': ('convnext_atto', dict(dims=(8, 8, 16, 16)), 1, False),
    'resnet': ('resnet18', dict(), 1, False),
    'efficientnet': ('efficientnet_b0', dict(), 1, False),
    'regnet': ('regnetx_002', dict(), 1, False),
    'mobilenet': ('mobilenetv3_small_050', dict(), 1, False),
    'maxvit':
    ('maxvit_rmlp_pico_rw_256',
     dict(img_size=64, embed_dim=(32, 32, 32, 32),
          depths=(1, 1, 1, 1)), 4, False),
}
FAST = ('vit', 'swin')  # the rest in the slow lane


def _param(name):
    marks = () if name in FAST else (pytest.mark.slow, )
    return pytest.param(name, marks=marks)


def _encoder(family, in_chans=3):
    model_name, kwargs, _, _ = FAMILIES[family]
    return dict(
        type='TimmEncoder', model_name=model_name, in_chans=in_chans, **kwargs)


def _size(family):
    return FAMILIES[family][1].get('img_size', 32)


@pytest.mark.parametrize('family', [_param(f) for f in FAMILIES])
def test_tokens_are_b_n_num_features(family):
    _, _, num_tokens, has_cls = FAMILIES[family]
    encoder = TimmEncoder(**{
        k: v
        for k, v in _encoder(family).items() if k != 'type'
    })
    size = _size(family)
    tokens = encoder(torch.randn(2, 3, size, size))
    assert tokens.shape == (2, num_tokens, encoder.model.num_features)
    assert encoder.embed_dims == encoder.model.num_features
    assert encoder.has_cls_token == has_cls


def test_swin_reads_its_channels_last_map():
    """The map's positions are the tokens, whatever the layout: the mean of
    the tokens is timm's own global average pool of the map."""
    encoder = TimmEncoder(**{
        k: v
        for k, v in _encoder('swin').items() if k != 'type'
    })
    encoder.eval()  # no stochastic depth: two forwards agree
    images = torch.randn(2, 3, 64, 64)
    assert encoder.output_fmt == 'NHWC'
    pooled = encoder.model.forward_head(
        encoder.model.forward_features(images), pre_logits=True)
    torch.testing.assert_close(encoder(images).mean(1), pooled)


@pytest.mark.parametrize('family', [_param(f) for f in FAMILIES])
@pytest.mark.parametrize('neck', ['concat', 'attention+rollingq'])
def test_a_forward_and_loss_under_concat_and_attention(family, neck):
    size = _size(family)
    neck_cfg = dict(type='ConcatFusion') if neck == 'concat' else dict(
        type='AttentionFusion', embed_dims=16, rolling=True)
    model = tiny_classifier(
        neck=neck_cfg,
        encoders=dict(
            audio=_encoder(family, in_chans=1),
            visual=_encoder(family, in_chans=3)))
    from mmpretrain.structures import DataSample
    inputs = dict(
        audio=torch.randn(2, 1, size, size),
        visual=torch.randn(2, 3, size, size))
    samples = [DataSample().set_gt_label(label) for label in (0, 3)]
    losses = model(inputs, samples, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()


def test_an_unreadable_output_is_a_clear_error_naming_the_model():
    with pytest.raises(
            ValueError,
            match=r"TimmEncoder\('x'\): forward_"
            r'features returned \(2, 8\), not tokens'):
        feature_tokens(torch.randn(2, 8), 'NCHW', 8, "TimmEncoder('x')")
    with pytest.raises(
            ValueError,
            match=r'read as NCHW have 5 channels, '
            r'but the model says num_features=8'):
        feature_tokens(torch.randn(2, 5, 3, 8), 'NCHW', 8, 'x')
    with pytest.raises(ValueError, match="declares output_fmt='NLC'"):
        feature_tokens(torch.randn(2, 5, 3, 8), 'NLC', 8, 'x')
