# G-Blending (Wang et al., CVPR 2020): the fused and unimodal heads'
# losses weighted by the offline G-Blend estimate
# on concat fusion, synthetic (docs/balance_methods.md).
# The weights: python tools/analysis_tools/gblending_weights.py \
#     configs/balance/gblending-concat_synthetic.py
# writes work_dirs/gblending_weights/gblending-concat_synthetic.json.
_base_ = ['../baselines/concat_synthetic.py']

model = dict(
    balancer=dict(
        type='GBlending',
        weights='work_dirs/gblending_weights/gblending-concat_synthetic.json'),
    aux_heads=dict(type='LinearClsHead', num_classes=8))
custom_hooks = [dict(type='BalanceHook')]
