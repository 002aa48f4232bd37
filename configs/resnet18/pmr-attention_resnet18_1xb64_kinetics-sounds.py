# PMR (Fan et al., CVPR 2023) on attention fusion, Kinetics-Sounds, the
# literature's ResNet-18 setup (docs/balance_methods.md).
_base_ = ['./attention_resnet18_1xb64_kinetics-sounds.py']

# alpha 2.0: the authors' CREMA-D value; PMR has no Kinetics-Sounds run;
# epochs 0-70, prototypes without momentum (theirs)
model = dict(balancer=dict(type='PMR', alpha=2.0, end_epoch=70))
custom_hooks = [dict(type='BalanceHook')]
