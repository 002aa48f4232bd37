# OGM-GE (Peng et al., CVPR 2022) on concat fusion, Kinetics-Sounds, the
# literature's ResNet-18 setup (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb64_kinetics-sounds.py']

# alpha 0.1: the authors' default command (OGM-GE README; no KS value given);
# modulation in epochs 0-50 (the authors' default)
model = dict(balancer=dict(type='OGMGE', alpha=0.1, end_epoch=50))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
