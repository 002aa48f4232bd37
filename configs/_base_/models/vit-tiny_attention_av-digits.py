# Two tiny timm ViTs trained from scratch + the paper's single attention
# fusion layer, sized for AV-Digits on 2 CPU cores.
embed_dims = 64
vit = dict(
    type='TimmEncoder',
    model_name='vit_tiny_patch16_224',  # any timm model name works here
    embed_dim=embed_dims,
    depth=2,
    num_heads=2,
    in_chans=1)

model = dict(
    type='MultimodalClassifier',
    encoders=dict(
        # log-mel [1, 32 bins, 64 frames], 8x8 patches: 4 x 8 = 32 tokens + CLS
        audio=dict(vit, img_size=(32, 64), patch_size=8),
        # handwriting [1, 8, 8], 2x2 patches: 16 tokens + CLS
        visual=dict(vit, img_size=(8, 8), patch_size=2)),
    neck=dict(
        type='AttentionFusion',
        embed_dims=embed_dims,
        num_layers=1,  # the paper: one attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2),
    head=dict(type='LinearClsHead', num_classes=10),  # in_channels: the neck's
    # detached linear probes: the per-modality accuracy of the encoders
    probe_heads=dict(type='LinearClsHead', num_classes=10))
