"""BackboneEncoder: mmpretrain backbones' outputs as tokens, checked against
the backbones' own outputs and the imbalance literature's pooling."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rollingq_mm.models import BackboneEncoder
from rollingq_mm.models.encoders import build_encoder
from tests.helpers import (TINY_CONVNEXT, TINY_RESNET, TINY_SWIN,
                           TINY_VIT_MMPRETRAIN)


def _backbone_output(encoder, images, index=-1):
    """The backbone's own output ``index`` for images."""
    with torch.no_grad():
        return encoder.backbone(images)[index]


def test_feature_map_positions_are_the_tokens_and_their_mean_is_gap():
    encoder = BackboneEncoder(TINY_RESNET).eval()
    images = torch.randn(2, 3, 32, 32)
    fmap = _backbone_output(encoder, images)  # [B, C, H, W]
    with torch.no_grad():
        tokens = encoder(images)
    assert encoder.embed_dims == fmap.shape[1] == tokens.shape[-1]
    assert not encoder.has_cls_token
    assert torch.equal(tokens, fmap.flatten(2).transpose(1, 2))
    assert torch.allclose(
        tokens.mean(1), F.adaptive_avg_pool2d(fmap, 1).flatten(1), atol=1e-6)


def test_video_runs_each_frame_and_mean_pooling_is_the_authors_3d_gap():
    encoder = BackboneEncoder(TINY_RESNET).eval()
    video = torch.randn(2, 3, 4, 32, 32)  # [B, C, T, H, W]
    with torch.no_grad():
        tokens = encoder(video)
        # the OGM-GE / PMR code: frames into the batch, then
        # adaptive_avg_pool3d over (T, H, W) of the [B, C, T, H, W] map
        frames = video.permute(0, 2, 1, 3, 4).reshape(8, 3, 32, 32)
        fmap = encoder.backbone(frames)[-1]
        _, C, H, W = fmap.shape
        fmap = fmap.view(2, 4, C, H, W).permute(0, 2, 1, 3, 4)
        authors = F.adaptive_avg_pool3d(fmap, 1).flatten(1)
        frame1 = encoder(video[:, :, 1])
    assert tokens.shape == (2, 4 * H * W, C)
    assert torch.allclose(tokens.mean(1), authors, atol=1e-6)
    assert torch.equal(tokens[:, H * W:2 * H * W], frame1)


def test_video_with_num_frames_adds_a_temporal_embedding_and_checks_t():
    encoder = BackboneEncoder(TINY_RESNET, num_frames=2)
    assert encoder.temporal_embed.shape == (1, 2, 1, encoder.embed_dims)
    with pytest.raises(ValueError, match='num_frames=2'):
        encoder(torch.randn(1, 3, 3, 32, 32))


@pytest.mark.parametrize('out_type, has_cls, num_tokens', [
    ('raw', True, 1 + 4),
    ('cls_token', True, 1),
    ('featmap', False, 4),
    ('avg_featmap', False, 1),
])
def test_vision_transformer_out_types(out_type, has_cls, num_tokens):
    torch.manual_seed(0)
    encoder = BackboneEncoder(dict(TINY_VIT_MMPRETRAIN,
                                   out_type=out_type)).eval()
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        tokens = encoder(images)
        encoder.backbone.out_type = 'raw'  # the same weights, all tokens
        raw = encoder.backbone(images)[-1]
    assert encoder.has_cls_token is has_cls
    assert encoder.embed_dims == 16
    assert tokens.shape == (2, num_tokens, 16)
    if out_type in ('raw', 'cls_token'):
        assert torch.equal(tokens[:, 0], raw[:, 0])  # token 0: the CLS


def test_patch_cls_pair_puts_the_cls_token_first():

    class PatchAndCls(nn.Module):
        """mmcls 0.x ViT style: one (patch map, cls) pair per output."""

        def forward(self, x):
            return [(x, x.mean((2, 3)) + 1)]

    encoder = BackboneEncoder(PatchAndCls(), embed_dims=3, has_cls_token=True)
    images = torch.randn(2, 3, 2, 2)
    tokens = encoder(images)
    assert tokens.shape == (2, 1 + 4, 3)
    assert torch.equal(tokens[:, 0], images.mean((2, 3)) + 1)
    assert torch.equal(tokens[:, 1:], images.flatten(2).transpose(1, 2))
    # a module that returns the pair itself, not one output per stage
    encoder.backbone.forward = lambda x: (x, x.mean((2, 3)))
    assert encoder(images).shape == (2, 5, 3)


def test_deit_cls_and_distillation_tokens():
    encoder = BackboneEncoder(
        dict(TINY_VIT_MMPRETRAIN, type='DistilledVisionTransformer'))
    assert encoder.has_cls_token
    assert encoder(torch.randn(2, 3, 16, 16)).shape == (2, 2, 16)


@pytest.mark.parametrize(
    'backbone', [TINY_RESNET, TINY_CONVNEXT, TINY_SWIN],
    ids=['resnet', 'convnext', 'swin'])
def test_width_is_read_from_the_backbone(backbone):
    encoder = BackboneEncoder(backbone).eval()
    images = torch.randn(1, 3, 32, 32)
    assert encoder.embed_dims == _backbone_output(encoder, images).shape[1]
    assert encoder(images).shape[-1] == encoder.embed_dims


def test_a_wrong_or_unknown_width_is_a_clear_error():
    with pytest.raises(ValueError, match='set embed_dims=64'):
        BackboneEncoder(TINY_RESNET, embed_dims=5)(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match='give embed_dims'):
        BackboneEncoder(nn.Conv2d(3, 4, 1))
    with pytest.raises(IndexError, match='out_indices'):
        BackboneEncoder(TINY_RESNET, out_index=2)


def test_mmpretrain_backbones_are_wrapped_and_others_are_not():
    assert isinstance(build_encoder(TINY_RESNET), BackboneEncoder)
    assert isinstance(
        build_encoder(
            dict(TINY_VIT_MMPRETRAIN, type='mmpretrain.'
                 'VisionTransformer')), BackboneEncoder)
    named = dict(type='BackboneEncoder', backbone=TINY_RESNET, num_frames=3)
    assert build_encoder(named).num_frames == 3  # not wrapped twice
    assert type(build_encoder(dict(type='SequenceEncoder', in_channels=4,
                                   embed_dims=8, num_layers=1,
                                   num_heads=2))).__name__ == \
        'SequenceEncoder'


def test_pretrained_init_cfg_loads_a_local_checkpoint(tmp_path):
    from rollingq_mm.registry import MODELS
    source = MODELS.build(TINY_RESNET)
    path = tmp_path / 'resnet.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in source.state_dict().items()
            }
        }, path)
    pretrained = dict(
        TINY_RESNET,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model = MODELS.build(
        dict(
            type='MultimodalClassifier',
            encoders=dict(visual=pretrained, audio=TINY_RESNET),
            neck=dict(type='ConcatFusion'),
            head=dict(type='LinearClsHead', num_classes=3)))
    model.init_weights()
    loaded = model.encoders['visual'].backbone.state_dict()
    fresh = model.encoders['audio'].backbone.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key
    assert not torch.equal(fresh['conv1.weight'],
                           source.state_dict()['conv1.weight'])


def test_a_channels_last_map_is_read_by_its_width():
    from rollingq_mm.models.encoders.backbone_encoder import to_tokens
    nchw = torch.randn(2, 16, 4, 3)
    nhwc = nchw.permute(0, 2, 3, 1)  # [B, H, W, C], as timm's Swin
    torch.testing.assert_close(to_tokens(nhwc, 16), to_tokens(nchw, 16))
    assert to_tokens(nhwc, 16).shape == (2, 12, 16)
    # a square map as wide as it is deep reads as mmpretrain's [B, C, H, W]
    square = torch.randn(2, 4, 4, 4)
    torch.testing.assert_close(
        to_tokens(square, 4),
        square.flatten(2).transpose(1, 2))
