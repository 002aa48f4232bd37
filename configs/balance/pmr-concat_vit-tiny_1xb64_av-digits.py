# PMR (Fan et al., CVPR 2023), alpha 1.0 (the authors' default)
# on concat fusion, av-digits (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='PMR', alpha=1.0))
custom_hooks = [dict(type='BalanceHook')]
