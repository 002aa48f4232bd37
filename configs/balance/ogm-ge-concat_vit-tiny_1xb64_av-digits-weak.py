# OGM-GE (Peng et al., CVPR 2022), alpha 0.3 (BalanceBenchmark's default)
# on concat fusion, av-digits-weak (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='OGMGE', alpha=0.3))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
