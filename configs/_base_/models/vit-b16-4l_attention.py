# The paper's audio-visual model (RollingQ, ICML 2025): two 4-layer
# ViT-B/16 encoders initialised from ImageNet-21k, and one attention fusion
# layer (d = 768, 1 head, dropout 0.2, no FFN / residual) whose CLS output is
# classified. Sizes are CREMA-D's; the Kinetics-Sounds configs override the
# audio img_size and the number of classes.
embed_dims = 768  # ViT-B width; the fusion layer works at the same d
num_classes = 6  # CREMA-D (Kinetics-Sounds: 31)

# ImageNet-21k ViT-B/16 weights, downloaded once to this path (see
# docs/datasets.md, "Pretrained weights"); nothing is downloaded at run time.
# To train from scratch set checkpoint_path=None in both encoders, e.g.
# --cfg-options model.encoders.audio.checkpoint_path=None
#               model.encoders.visual.checkpoint_path=None
vit_checkpoint = 'checkpoints/vit_base_patch16_224.augreg_in21k.safetensors'
vit = dict(
    type='TimmEncoder',
    model_name='vit_base_patch16_224.augreg_in21k',  # any timm name works
    pretrained=False,  # a checkpoint_path alone turns loading on
    checkpoint_path=vit_checkpoint,
    depth=4)  # the paper keeps the first 4 of ViT-B's 12 blocks

model = dict(
    type='MultimodalClassifier',
    encoders=dict(
        # log-magnitude spectrogram [1, F=257, T=188] (CREMA-D; KS fbank:
        # [1, 1024, 128]); timm adapts the RGB patch embedding to 1 channel
        # and resamples the position embedding when loading the checkpoint
        audio=dict(vit, in_chans=1, img_size=(257, 188)),
        # 3 frames [3, T=3, 224, 224], folded into the batch, plus a learned
        # temporal embedding; tokens of the 3 frames are concatenated
        visual=dict(vit, num_frames=3)),
    neck=dict(
        type='AttentionFusion',
        embed_dims=embed_dims,
        num_layers=1,  # the paper: a single attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2),
    head=dict(
        type='LinearClsHead', num_classes=num_classes, in_channels=embed_dims),
    # the paper's detached linear probes: per-modality accuracy
    probe_heads=dict(type='LinearClsHead', num_classes=num_classes))
