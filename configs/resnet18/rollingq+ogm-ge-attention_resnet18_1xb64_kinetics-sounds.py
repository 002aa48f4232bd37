# RollingQ + OGM-GE on attention fusion, Kinetics-Sounds, the literature's
# ResNet-18 setup: both hooks, one model.
_base_ = ['./ogm-ge-attention_resnet18_1xb64_kinetics-sounds.py']

custom_hooks = [
    dict(type='BalanceHook'),
    dict(type='RollingQHook', max_rotations=3)
]
