# PMR (Fan et al., CVPR 2023), alpha 1.0 (the authors' default)
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='PMR', alpha=1.0))
custom_hooks = [dict(type='BalanceHook')]
