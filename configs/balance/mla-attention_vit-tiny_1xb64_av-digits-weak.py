# MLA (CVPR 2024): alternating unimodal steps through one shared head,
# entropy-gated inference (the authors' --dynamic: per-batch gates)
# with attention fusion, AV-Digits (visual weakened). No RollingQ: the method
# never fuses the modalities jointly in training, so there is no joint
# attention for RollingQ to measure (docs/balance_methods.md).
_base_ = ['../av_digits/attention_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='MLA'))
# the plain wrapper unless projection=True (its step then projects)
optim_wrapper = dict(type='BalancedOptimWrapper')
train_cfg = dict(
    _delete_=True,
    type='BalancedTrainLoop',
    max_epochs={{_base_.max_epochs}},
    val_interval=1)
custom_hooks = [dict(type='BalanceHook')]
# the combined modalities' logits replace the fused head: no attention
# record to score
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
