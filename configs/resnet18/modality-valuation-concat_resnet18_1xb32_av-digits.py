# Modality-level valuation (CVPR 2024): more draws of the modality whose
# mean Shapley contribution is lower, alone; alpha 1, 20 % of the samples
# averaged, warm-up 5 epochs (the authors')
# on concat fusion, AV-Digits, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_av-digits.py']

model = dict(balancer=dict(type='ModalityValuation'))
train_dataloader = dict(sampler=dict(type='WeightedResampler'))
custom_hooks = [dict(type='BalanceHook')]
