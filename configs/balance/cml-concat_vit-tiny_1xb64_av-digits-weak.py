# CML (ICML 2023): confidence must not rise when a modality is
# removed; weight 0.1 (the authors' README, beta 10 / 100)
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='CML', weight=0.1))
custom_hooks = [dict(type='BalanceHook')]
