# AGM (Li et al., ICCV 2023): Shapley-share gradient modulation;
# alpha 1.0, cap 10, clip 1, epochs 0-19: the authors' defaults
# (lihong2303/AGM utils/config.py)
# on concat fusion, Kinetics-Sounds, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(balancer=dict(type='AGM', alpha=1.0))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
