# MMPareto (Wei & Hu, ICML 2024): unimodal heads + Pareto gradient
# integration, gamma 1.5 (the authors')
# on attention fusion, av-digits (docs/balance_methods.md).
_base_ = ['../av_digits/attention_vit-tiny_1xb64_av-digits.py']

model = dict(
    aux_heads=dict(type='LinearClsHead', num_classes=10),
    balancer=dict(type='MMPareto', gamma=1.5))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
