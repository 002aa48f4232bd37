# InfoReg (CVPR 2025): proximal term on the dominant encoder in
# its prime learning window; beta 0.95 / 0.1, threshold 0.05, 10-epoch
# history: the authors' main.py
# with attention fusion + RollingQ (the authors' procedure), synthetic
# (docs/balance_methods.md).
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

model = dict(
    balancer=dict(type='InfoReg'),
    aux_heads=dict(type='LinearClsHead', num_classes=8))
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
