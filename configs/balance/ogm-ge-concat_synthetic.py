# OGM-GE (Peng et al., CVPR 2022), alpha 0.3 (BalanceBenchmark's default)
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='OGMGE', alpha=0.3))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
