# Baseline: concatenation of each modality's CLS token (no attention).
_base_ = ['./attention_synthetic.py']

model = dict(
    neck=dict(_delete_=True, type='ConcatFusion', pool='cls'),
    head=dict(in_channels=2 * {{_base_.embed_dims}}))
