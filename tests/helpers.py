"""Small models shared by the tests (random init, CPU, milliseconds)."""
from rollingq_mm.registry import MODELS

# A one-block ViT on 16x16 inputs with 8x8 patches: 4 tokens + CLS, width 16.
TINY_VIT = dict(
    type='TimmEncoder',
    model_name='vit_tiny_patch16_224',
    img_size=(16, 16),
    patch_size=8,
    embed_dim=16,
    depth=1,
    num_heads=2)


def tiny_classifier(neck=None, **kwargs):
    """An audio [1, 16, 16] + visual [3, 16, 16] MultimodalClassifier, 4
    classes, with probes; ``kwargs`` override or add arguments."""
    cfg = dict(
        type='MultimodalClassifier',
        encoders=dict(
            audio=dict(TINY_VIT, in_chans=1),
            visual=dict(TINY_VIT, in_chans=3)),
        neck=neck or dict(type='ConcatFusion'),
        head=dict(type='LinearClsHead', num_classes=4),
        probe_heads=dict(type='LinearClsHead', num_classes=4))
    cfg.update(kwargs)
    return MODELS.build(cfg)
