# MBSD (BalanceBenchmark's late-fusion form): per-sample
# self-distillation from the more confident modality
# on concat fusion, AV-Digits (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='MBSD'))
custom_hooks = [dict(type='BalanceHook')]
