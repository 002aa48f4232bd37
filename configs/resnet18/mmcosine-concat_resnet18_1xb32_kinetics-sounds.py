# MMCosine (ICASSP 2023): cosine logits per modality, scale 10
# (the authors' main_CD.py); concat / sum fusion only
# on concat fusion, Kinetics-Sounds, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(balancer=dict(type='MMCosine', scale=10.0))
custom_hooks = [dict(type='BalanceHook')]
