# CML (ICML 2023): confidence must not rise when a modality is
# removed; weight 0.1 (the authors' README, beta 10 / 100)
# on concat fusion, AV-Digits, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_av-digits.py']

model = dict(balancer=dict(type='CML', weight=0.1))
custom_hooks = [dict(type='BalanceHook')]
