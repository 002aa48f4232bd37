# AGM (Li et al., ICCV 2023): Shapley-share gradient modulation;
# alpha 1.0, cap 10, clip 1, epochs 0-19: the authors' defaults
# (lihong2303/AGM utils/config.py)
# with attention fusion + RollingQ (the authors' procedure), AV-Digits (visual
# weakened)
# (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='AGM', alpha=1.0, mask='tokens'))
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
