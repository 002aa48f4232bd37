# MBSD (BalanceBenchmark's late-fusion form): per-sample
# self-distillation from the more confident modality
# with attention fusion + RollingQ (the authors' procedure), synthetic
# (docs/balance_methods.md).
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

model = dict(
    balancer=dict(type='MBSD'),
    aux_heads=dict(type='LinearClsHead', num_classes=8))
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
