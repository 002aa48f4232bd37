# OGM+ (TPAMI 2024): the weaker modality's gradients times 4
# (the authors' constant), with OGM-GE's noise
# on concat fusion, AV-Digits, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_av-digits.py']

model = dict(balancer=dict(type='OGMGE', boost=4.0))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
