# AMCo (ICASSP 2023, as BalanceBenchmark defines it): the dominant
# modality's class logits masked, more as each epoch goes (sigma 0.5,
# eps 0.3), a K x K linear_star on their sum; concat / sum fusion only
# on concat fusion, CREMA-D, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_cremad.py']

model = dict(balancer=dict(type='AMCo'))
custom_hooks = [dict(type='BalanceHook')]
