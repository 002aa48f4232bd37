# Sample-level valuation (CVPR 2024): two-player Shapley contributions
# of every training sample after each epoch; the next epoch re-samples
# by them (WeightedResampler: a fixed-length epoch, the authors' copies
# as draws that keep one modality); warm-up 5 epochs (the authors')
# on concat fusion, CREMA-D, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_cremad.py']

model = dict(balancer=dict(type='SampleValuation'))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [dict(type='BalanceHook')]
