# InfoReg (CVPR 2025): proximal term on the dominant encoder in
# its prime learning window; beta 0.95 / 0.1, threshold 0.05, 10-epoch
# history: the authors' main.py
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='InfoReg'))
# changes gradients between backward and step
optim_wrapper = dict(type='BalancedOptimWrapper')
custom_hooks = [dict(type='BalanceHook')]
