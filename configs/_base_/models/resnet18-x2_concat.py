# The modality-imbalance literature's audio-visual model (OGM-GE, CVPR 2022;
# PMR, CVPR 2023; MMPareto, ICML 2024; BalanceBenchmark, 2025): two ResNet-18
# trained from scratch, one per modality, each globally average-pooled, and
# concatenation fusion with one linear classifier. The ResNets are
# mmpretrain's: any mmpretrain backbone config is an encoder (rollingq_mm's
# BackboneEncoder turns its feature maps into tokens). Sizes are CREMA-D's.
num_classes = 6  # CREMA-D (Kinetics-Sounds: 31)
resnet18 = dict(
    type='ResNet',  # mmpretrain's ResNet-18: the authors' layers, one for one
    depth=18,
    # the authors' init is mmpretrain's default (kaiming-normal fan-out convs,
    # BN weight 1, bias 0) without mmpretrain's zero-initialised last BN
    zero_init_residual=False)

model = dict(
    type='MultimodalClassifier',
    encoders=dict(
        # log-magnitude spectrogram [1, F, T]: one input channel
        audio=dict(resnet18, in_channels=1),
        # frames [3, T, H, W]: every frame through the same 2-D ResNet-18 and
        # the positions of all frames together (no temporal embedding)
        visual=resnet18),
    # the mean of an encoder's positions is the authors' pooling (audio:
    # adaptive_avg_pool2d; visual: adaptive_avg_pool3d over frames and
    # space); the two 512-d features are concatenated
    neck=dict(type='ConcatFusion', pool='mean'),
    # one linear layer on the 1024-d feature (the authors' fc_out); the
    # authors' xavier-normal init, as every head here
    head=dict(type='LinearClsHead', num_classes=num_classes),
    # detached linear probes: each encoder's accuracy on its own
    probe_heads=dict(type='LinearClsHead', num_classes=num_classes))
