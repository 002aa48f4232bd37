# Kinetics-Sounds, two ResNet-18 + RollingQ's attention fusion layer (no
# RollingQ): the literature's setup with attention fusion.
_base_ = [
    '../_base_/models/resnet18-x2_attention.py',
    '../_base_/datasets/kinetics_sounds.py',
    '../_base_/schedules/sgd_steplr_100e.py', '../_base_/default_runtime.py'
]

model = dict(
    head=dict(num_classes=31),  # Kinetics-Sounds classes
    probe_heads=dict(num_classes=31))
