# MMCosine (ICASSP 2023): cosine logits per modality, scale 10
# (the authors' main_CD.py); concat / sum fusion only
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='MMCosine', scale=10.0))
custom_hooks = [dict(type='BalanceHook')]
