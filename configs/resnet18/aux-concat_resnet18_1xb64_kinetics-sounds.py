# Unimodal auxiliary losses on concat fusion, Kinetics-Sounds, the
# literature's ResNet-18 setup: a linear head per encoder, its
# cross-entropy added with weight 1 (MMPareto's "uniform baseline").
_base_ = ['./concat_resnet18_1xb64_kinetics-sounds.py']

model = dict(aux_heads=dict(type='LinearClsHead', num_classes=31))
