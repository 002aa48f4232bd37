# Attention fusion without RollingQ (the paper's "vanilla") on AV-Digits.
_base_ = [
    '../_base_/models/vit-tiny_attention_av-digits.py',
    '../_base_/datasets/av_digits.py', '../_base_/schedules/av_digits.py',
    '../_base_/default_runtime.py'
]
