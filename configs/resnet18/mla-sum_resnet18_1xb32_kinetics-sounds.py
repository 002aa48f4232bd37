# MLA (CVPR 2024): alternating unimodal steps through one shared head,
# entropy-gated inference (the authors' --dynamic: per-batch gates)
# sum fusion of the two 512-d features (the authors' shared Linear),
# Kinetics-Sounds, BalanceBenchmark's setup (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(
    neck=dict(_delete_=True, type='SumFusion', embed_dims=512, pool='mean'),
    balancer=dict(type='MLA'))
# the plain wrapper unless projection=True (its step then projects)
optim_wrapper = dict(type='BalancedOptimWrapper')
train_cfg = dict(
    _delete_=True,
    type='BalancedTrainLoop',
    max_epochs={{_base_.max_epochs}},
    val_interval=1)
custom_hooks = [dict(type='BalanceHook')]
