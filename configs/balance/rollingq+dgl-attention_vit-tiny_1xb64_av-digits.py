# DGL (ICCV 2025): the fusion trained on detached features, each
# encoder by its own loss; alpha 4 (the authors' CREMA-D script)
# with attention fusion + RollingQ (the authors' procedure), AV-Digits
# (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='DGL', alpha=4.0))
# the authors clip the gradients' global norm at 40 (main_dgl.py:129)
optim_wrapper = dict(clip_grad=dict(max_norm=40))
custom_hooks = [
    dict(type='BalanceHook'),
    dict(
        type='RollingQHook',
        beta=0.0,
        sigma=0.0,
        max_rotations=1,
        stats='pass',
        air_from='last_batch',
        method='svd')
]
