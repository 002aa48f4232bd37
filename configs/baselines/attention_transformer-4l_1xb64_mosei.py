# CMU-MOSEI, attention fusion without RollingQ (paper: 62.7%).
_base_ = [
    '../_base_/models/transformer-4l_attention_mosei.py',
    '../_base_/datasets/mosei.py', '../_base_/schedules/sgd_30e.py',
    '../_base_/default_runtime.py'
]
