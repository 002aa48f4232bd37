# Baseline: attention fusion without RollingQ (the paper's "vanilla").
_base_ = [
    '../_base_/models/vit-tiny_attention_synthetic.py',
    '../_base_/datasets/synthetic.py', '../_base_/schedules/synthetic.py',
    '../_base_/default_runtime.py'
]
