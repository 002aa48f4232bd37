# ReconBoost (ICML 2024): stage-wise modality updates against the
# detached ensemble, a global correction after each stage; 1 + 1 epochs
# per stage (BalanceBenchmark's; the authors' 4 + 4 is for 100s of
# stages), w1 5, w2 1, boost rate 1
# sum fusion of the two 512-d features (the authors' shared Linear),
# AV-Digits, BalanceBenchmark's setup (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_av-digits.py']

model = dict(
    neck=dict(_delete_=True, type='SumFusion', embed_dims=512, pool='mean'),
    balancer=dict(type='ReconBoost', stage_epochs=1, correction_epochs=1))
train_cfg = dict(
    _delete_=True,
    type='BalancedTrainLoop',
    max_epochs={{_base_.max_epochs}},
    val_interval=1)
custom_hooks = [dict(type='BalanceHook')]
