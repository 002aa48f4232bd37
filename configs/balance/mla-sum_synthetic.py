# MLA (CVPR 2024): alternating unimodal steps through one shared head,
# entropy-gated inference (the authors' --dynamic: per-batch gates)
# sum fusion with equal widths (the authors' shared Linear), on the synthetic
# set (docs/balance_methods.md).
_base_ = ['../baselines/sum_synthetic.py']

model = dict(balancer=dict(type='MLA'))
# the plain wrapper unless projection=True (its step then projects)
optim_wrapper = dict(type='BalancedOptimWrapper')
train_cfg = dict(
    _delete_=True,
    type='BalancedTrainLoop',
    max_epochs={{_base_.max_epochs}},
    val_interval=1)
custom_hooks = [dict(type='BalanceHook')]
