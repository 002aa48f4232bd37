# MMPareto (Wei & Hu, ICML 2024) on attention fusion, Kinetics-Sounds, the
# literature's ResNet-18 setup (docs/balance_methods.md): unimodal heads
# + Pareto gradient integration, gamma 1.5 (the authors').
_base_ = ['./attention_resnet18_1xb64_kinetics-sounds.py']

model = dict(
    aux_heads=dict(type='LinearClsHead', num_classes=31),
    balancer=dict(type='MMPareto', gamma=1.5))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
