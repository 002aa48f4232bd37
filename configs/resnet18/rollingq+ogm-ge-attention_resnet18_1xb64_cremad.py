# RollingQ + OGM-GE on attention fusion, CREMA-D, the literature's
# ResNet-18 setup: both hooks, one model.
_base_ = ['./ogm-ge-attention_resnet18_1xb64_cremad.py']

custom_hooks = [
    dict(type='BalanceHook'),
    dict(type='RollingQHook', max_rotations=1)
]
