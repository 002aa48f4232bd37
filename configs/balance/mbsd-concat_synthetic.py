# MBSD (BalanceBenchmark's late-fusion form): per-sample
# self-distillation from the more confident modality
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='MBSD'))
custom_hooks = [dict(type='BalanceHook')]
