# DGL (ICCV 2025): the fusion trained on detached features, each
# encoder by its own loss; alpha 4 (the authors' CREMA-D script)
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='DGL', alpha=4.0))
custom_hooks = [dict(type='BalanceHook')]
