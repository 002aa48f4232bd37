# Sample-level valuation (CVPR 2024): two-player Shapley contributions
# of every training sample after each epoch; the next epoch re-samples
# by them (WeightedResampler: a fixed-length epoch, the authors' copies
# as draws that keep one modality); warm-up 5 epochs (the authors')
# with attention fusion + RollingQ (the authors' procedure), AV-Digits
# (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='SampleValuation'))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [
    dict(type='BalanceHook'),
    dict(
        type='RollingQHook',
        beta=0.0,
        sigma=0.0,
        max_rotations=1,
        stats='pass',
        air_from='last_batch',
        method='svd')
]
