# G-Blending (Wang et al., CVPR 2020): the fused and unimodal heads'
# losses weighted by the offline G-Blend estimate
# on concat fusion, Kinetics-Sounds, BalanceBenchmark's setup
# (docs/balance_methods.md). The weights: python
# tools/analysis_tools/gblending_weights.py
# configs/resnet18/gblending-concat_resnet18_1xb32_kinetics-sounds.py
# writes
# work_dirs/gblending_weights/gblending-concat_resnet18_1xb32_kinetics-sounds.json.
_base_ = ['./concat_resnet18_1xb32_kinetics-sounds.py']

model = dict(
    balancer=dict(
        type='GBlending',
        weights='work_dirs/gblending_weights/'
        'gblending-concat_resnet18_1xb32_kinetics-sounds.json'),
    aux_heads=dict(type='LinearClsHead', num_classes=31))
custom_hooks = [dict(type='BalanceHook')]
