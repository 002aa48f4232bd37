# Diagnosing & Re-learning (ECCV 2024): after every 8th epoch pull each
# encoder toward its initial weights by tanh(3 x its train / held-out
# purity gap); strength 3 (the authors'), every 8 epochs of 30, 3 times
# (BalanceBenchmark's 30-epoch schedule; the authors': every 20 of 90);
# the held-out split is the val split, never the test split
# (the 10-epoch synthetic run: dict(type='ReLearning', interval=3))
# on concat fusion, on the synthetic set (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(balancer=dict(type='ReLearning', interval=3))
custom_hooks = [dict(type='BalanceHook')]
