# Baseline: concatenation of each modality's CLS token (no attention).
_base_ = ['./attention_synthetic.py']

model = dict(
    neck=dict(_delete_=True, type='ConcatFusion', pool='cls'),
    head=dict(in_channels=128))  # 2 modalities x embed_dims 64

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
