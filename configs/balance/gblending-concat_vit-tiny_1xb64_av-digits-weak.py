# G-Blending (Wang et al., CVPR 2020): the fused and unimodal heads'
# losses weighted by the offline G-Blend estimate
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
# The weights: python tools/analysis_tools/gblending_weights.py \
#     configs/balance/gblending-concat_vit-tiny_1xb64_av-digits-weak.py
# writes
# work_dirs/gblending_weights/gblending-concat_vit-tiny_1xb64_av-digits-weak.json.
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(
    balancer=dict(
        type='GBlending',
        weights='work_dirs/gblending_weights/'
        'gblending-concat_vit-tiny_1xb64_av-digits-weak.json'),
    aux_heads=dict(type='LinearClsHead', num_classes=10))
custom_hooks = [dict(type='BalanceHook')]
