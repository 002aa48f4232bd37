# Sample-level valuation (CVPR 2024): two-player Shapley contributions
# of every training sample after each epoch; the next epoch re-samples
# by them (WeightedResampler: a fixed-length epoch, the authors' copies
# as draws that keep one modality); warm-up 5 epochs (the authors')
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='SampleValuation'))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [dict(type='BalanceHook')]
