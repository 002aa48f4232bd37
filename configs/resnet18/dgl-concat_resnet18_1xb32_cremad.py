# DGL (ICCV 2025): the fusion trained on detached features, each
# encoder by its own loss; alpha 4 (the authors' CREMA-D script)
# on concat fusion, CREMA-D, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_cremad.py']

model = dict(balancer=dict(type='DGL', alpha=4.0))
# the authors clip the gradients' global norm at 40 (main_dgl.py:129)
optim_wrapper = dict(clip_grad=dict(max_norm=40))
custom_hooks = [dict(type='BalanceHook')]
