# Two tiny timm ViTs (one per modality) + the paper's single attention fusion
# layer, sized for the embedded default so that it trains on 2 CPU cores.
embed_dims = 64
num_classes = 8
vit = dict(
    type='TimmEncoder',
    model_name='vit_tiny_patch16_224',  # any timm model name works here
    img_size=(32, 32),
    patch_size=8,  # 4x4 patches + CLS = 17 tokens per modality
    embed_dim=embed_dims,
    depth=2,
    num_heads=2)

model = dict(
    type='MultimodalClassifier',
    encoders=dict(
        audio=dict(vit, in_chans=1),  # spectrogram-like [1, F, T]
        visual=dict(vit, in_chans=3)),
    neck=dict(
        type='AttentionFusion',
        embed_dims=embed_dims,
        num_layers=1,  # the paper: one attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2),
    head=dict(
        type='LinearClsHead', num_classes=num_classes, in_channels=embed_dims),
    # detached linear probes: the per-modality accuracy of the encoders
    probe_heads=dict(type='LinearClsHead', num_classes=num_classes))
