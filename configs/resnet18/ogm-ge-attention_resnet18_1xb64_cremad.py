# OGM-GE (Peng et al., CVPR 2022) on attention fusion, CREMA-D, the
# literature's ResNet-18 setup (docs/balance_methods.md).
_base_ = ['./attention_resnet18_1xb64_cremad.py']

# alpha 0.8: the authors' value for CREMA-D (OGM-GE README);
# modulation in epochs 0-50 (the authors' default)
model = dict(balancer=dict(type='OGMGE', alpha=0.8, end_epoch=50))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
