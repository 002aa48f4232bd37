# Modality-level valuation (CVPR 2024): more draws of the modality whose
# mean Shapley contribution is lower, alone; alpha 1, 20 % of the samples
# averaged, warm-up 5 epochs (the authors')
# (the 10-epoch synthetic run: dict(type='ModalityValuation', warmup_epochs=2))
# on concat fusion, on the synthetic set (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='ModalityValuation', warmup_epochs=2))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [dict(type='BalanceHook')]
