import pytest
import torch

from rollingq_mm.models import SequenceEncoder, TimmEncoder

VIT = dict(
    model_name='vit_tiny_patch16_224',
    img_size=(32, 32),
    patch_size=8,
    embed_dim=32,
    depth=1,
    num_heads=2)


def test_timm_vit_returns_tokens_with_cls():
    encoder = TimmEncoder(in_chans=1, **VIT)
    tokens = encoder(torch.randn(2, 1, 32, 32))
    assert tokens.shape == (2, 17, 32) and encoder.embed_dims == 32
    assert encoder.has_cls_token
    pooled = TimmEncoder(
        in_chans=1, class_token=False, global_pool='avg', **VIT)
    assert not pooled.has_cls_token


def test_video_folds_frames_into_the_batch():
    encoder = TimmEncoder(num_frames=3, **VIT).eval()
    video = torch.randn(2, 3, 3, 32, 32)
    tokens = encoder(video)
    assert tokens.shape == (2, 3 * 17, 32)
    # frame t's tokens are the image tokens of frame t plus its embedding
    frame1 = encoder.model.forward_features(video[:, :, 1])
    expected = frame1 + encoder.temporal_embed[0, 1]
    assert torch.allclose(tokens[:, 17:34], expected, atol=1e-5)
    with pytest.raises(ValueError, match='num_frames=3'):
        encoder(torch.randn(1, 3, 2, 32, 32))


def test_cnn_feature_map_becomes_tokens():
    encoder = TimmEncoder('resnet18')
    assert encoder(torch.randn(1, 3, 64, 64)).shape == (1, 4, 512)
    assert not encoder.has_cls_token  # token 0 is a corner of the map


def test_local_checkpoint_loads_and_missing_one_is_a_clear_error(tmp_path):
    source = TimmEncoder(**VIT)
    path = tmp_path / 'vit.pth'
    torch.save(source.model.state_dict(), path)
    loaded = TimmEncoder(checkpoint_path=str(path), **VIT)
    assert torch.equal(loaded.model.patch_embed.proj.weight,
                       source.model.patch_embed.proj.weight)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        TimmEncoder(checkpoint_path=str(tmp_path / 'nope.pth'), **VIT)
    with pytest.raises(ValueError, match='never downloaded'):
        TimmEncoder(pretrained=True, **VIT)


def test_sequence_encoder():
    encoder = SequenceEncoder(
        in_channels=35, embed_dims=32, num_layers=2, num_heads=4, max_len=20)
    assert encoder(torch.randn(2, 20, 35)).shape == (2, 21, 32)
    assert encoder.has_cls_token  # a learned CLS token is prepended
    with pytest.raises(ValueError, match='in_channels'):
        encoder(torch.randn(2, 20, 74))
    with pytest.raises(ValueError, match='max_len'):
        encoder(torch.randn(2, 21, 35))
