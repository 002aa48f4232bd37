# Modality-level valuation (CVPR 2024): more draws of the modality whose
# mean Shapley contribution is lower, alone; alpha 1, 20 % of the samples
# averaged, warm-up 5 epochs (the authors')
# (the 10-epoch synthetic run: dict(type='ModalityValuation', warmup_epochs=2))
# with attention fusion + RollingQ (the authors' procedure), on the synthetic
# set (docs/balance_methods.md).
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

model = dict(balancer=dict(type='ModalityValuation', warmup_epochs=2))
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
