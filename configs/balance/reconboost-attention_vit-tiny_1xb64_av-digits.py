# ReconBoost (ICML 2024): stage-wise modality updates against the
# detached ensemble, a global correction after each stage; 1 + 1 epochs
# per stage (BalanceBenchmark's; the authors' 4 + 4 is for 100s of
# stages), w1 5, w2 1, boost rate 1
# with attention fusion, AV-Digits. No RollingQ: the method never fuses the
# modalities jointly in training, so there is no joint attention for RollingQ
# to measure (docs/balance_methods.md).
_base_ = ['../av_digits/attention_vit-tiny_1xb64_av-digits.py']

model = dict(
    balancer=dict(type='ReconBoost', stage_epochs=1, correction_epochs=1))
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
