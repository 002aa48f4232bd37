# Diagnosing & Re-learning (ECCV 2024): after every 8th epoch pull each
# encoder toward its initial weights by tanh(3 x its train / held-out
# purity gap); strength 3 (the authors'), every 8 epochs of 30, 3 times
# (BalanceBenchmark's 30-epoch schedule; the authors': every 20 of 90);
# the held-out split is the val split, never the test split
# on concat fusion, AV-Digits (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits.py']

model = dict(balancer=dict(type='ReLearning', interval=8))
custom_hooks = [dict(type='BalanceHook')]
