# AMCo (ICASSP 2023, as BalanceBenchmark defines it): the dominant
# modality's class logits masked, more as each epoch goes (sigma 0.5,
# eps 0.3), a K x K linear_star on their sum; concat / sum fusion only
# on concat fusion, on the synthetic set (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='AMCo'))
custom_hooks = [dict(type='BalanceHook')]
