# unimodal auxiliary losses: a non-detached linear head per modality, its
# cross-entropy added (weight 1)
# on concat fusion, av-digits-weak (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(aux_heads=dict(type='LinearClsHead', num_classes=10))
