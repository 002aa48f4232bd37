# Sample-level valuation (CVPR 2024): two-player Shapley contributions
# of every training sample after each epoch; the next epoch re-samples
# by them (WeightedResampler: a fixed-length epoch, the authors' copies
# as draws that keep one modality); warm-up 5 epochs (the authors')
# (the 10-epoch synthetic run: dict(type='SampleValuation', warmup_epochs=2))
# on concat fusion, on the synthetic set (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='SampleValuation', warmup_epochs=2))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [dict(type='BalanceHook')]
