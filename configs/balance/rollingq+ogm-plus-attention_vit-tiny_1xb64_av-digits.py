# OGM+ (TPAMI 2024): the weaker modality's gradients times 4
# (the authors' constant), with OGM-GE's noise
# with attention fusion + RollingQ (the authors' procedure), AV-Digits
# (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='OGMGE', boost=4.0))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
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
