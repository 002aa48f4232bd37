# LFM (NeurIPS 2024): 2 (w_ce CE(half the sum of the modalities'
# logits) + w_align JS(o_a, o_v)), w_align = clip(exp(-0.3 e), 0.05, 0.95)
# (the paper's heuristic schedule; schedule='fitted' / 'learned' are the
# authors' others); concat / sum fusion only
# on concat fusion, Kinetics-Sounds, BalanceBenchmark's setup
# (docs/balance_methods.md).
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(balancer=dict(type='LFM'))
custom_hooks = [dict(type='BalanceHook')]
