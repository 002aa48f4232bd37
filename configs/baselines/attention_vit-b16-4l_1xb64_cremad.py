# CREMA-D, attention fusion without RollingQ (the paper's "vanilla": 48.8%).
_base_ = [
    '../_base_/models/vit-b16-4l_attention.py', '../_base_/datasets/cremad.py',
    '../_base_/schedules/sgd_30e.py', '../_base_/default_runtime.py'
]
