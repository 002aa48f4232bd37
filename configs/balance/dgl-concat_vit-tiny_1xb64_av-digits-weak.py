# DGL (ICCV 2025): the fusion trained on detached features, each
# encoder by its own loss; alpha 4 (the authors' CREMA-D script)
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='DGL', alpha=4.0))
custom_hooks = [dict(type='BalanceHook')]
