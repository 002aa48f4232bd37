# unimodal auxiliary losses: a non-detached linear head per modality, its
# cross-entropy added (weight 1)
# on concat fusion, synthetic (docs/balance_methods.md).
_base_ = ['../baselines/concat_synthetic.py']

model = dict(aux_heads=dict(type='LinearClsHead', num_classes=8))
