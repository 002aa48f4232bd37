# G-Blending (Wang et al., CVPR 2020): the fused and unimodal heads'
# losses weighted by the offline G-Blend estimate
# on attention fusion + RollingQ (the authors'
# procedure), synthetic (docs/balance_methods.md).
# The weights: python tools/analysis_tools/gblending_weights.py \
#     configs/balance/rollingq+gblending-attention_synthetic.py
# writes
# work_dirs/gblending_weights/rollingq+gblending-attention_synthetic.json.
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

model = dict(
    balancer=dict(
        type='GBlending',
        weights='work_dirs/gblending_weights/'
        'rollingq+gblending-attention_synthetic.json'),
    aux_heads=dict(type='LinearClsHead', num_classes=8))
custom_hooks = [
    dict(type='BalanceHook'),
    dict(
        type='RollingQHook',
        beta=0.0,
        sigma=0.0,
        max_rotations=1,
        stats='pass',
        air_from='last_batch',
        method='svd')
]
