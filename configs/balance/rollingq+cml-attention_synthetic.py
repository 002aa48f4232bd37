# CML (ICML 2023): confidence must not rise when a modality is
# removed; weight 0.1 (the authors' README, beta 10 / 100)
# with attention fusion + RollingQ (the authors' procedure), synthetic
# (docs/balance_methods.md).
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

model = dict(balancer=dict(type='CML', weight=0.1))
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
