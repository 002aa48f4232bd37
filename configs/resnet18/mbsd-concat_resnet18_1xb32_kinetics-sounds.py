# MBSD (BalanceBenchmark's late-fusion form): per-sample
# self-distillation from the more confident modality
# on concat fusion, Kinetics-Sounds, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(balancer=dict(type='MBSD'))
custom_hooks = [dict(type='BalanceHook')]
