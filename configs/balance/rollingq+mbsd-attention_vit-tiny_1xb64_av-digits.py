# MBSD (BalanceBenchmark's late-fusion form): per-sample
# self-distillation from the more confident modality
# with attention fusion + RollingQ (the authors' procedure), AV-Digits
# (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits.py']

model = dict(
    balancer=dict(type='MBSD'),
    aux_heads=dict(type='LinearClsHead', num_classes=10))
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
