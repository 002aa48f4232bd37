# CML (ICML 2023): confidence must not rise when a modality is
# removed; weight 0.1 (the authors' README, beta 10 / 100)
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='CML', weight=0.1))
custom_hooks = [dict(type='BalanceHook')]
