# Kinetics-Sounds, two ResNet-18 + RollingQ's attention fusion layer (no
# RollingQ): the literature's setup with attention fusion.
_base_ = [
    '../_base_/models/resnet18-x2_concat.py',
    '../_base_/datasets/kinetics_sounds.py',
    '../_base_/schedules/sgd_steplr_100e.py', '../_base_/default_runtime.py'
]

model = dict(
    # a CLS token attends over every position of both ResNets' last maps
    neck=dict(
        _delete_=True,
        type='AttentionFusion',
        embed_dims=512,  # ResNet-18's width: no projection
        num_layers=1,  # RollingQ's fusion layer: one attention layer,
        num_heads=1,  # one head, no FFN / residual,
        attn_drop=0.2,  # dropout 0.2
        proj_drop=0.2),
    head=dict(num_classes=31),  # Kinetics-Sounds classes
    probe_heads=dict(num_classes=31))
