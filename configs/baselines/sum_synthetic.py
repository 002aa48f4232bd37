# Baseline: sum of each modality's CLS token (equal dims: no projection).
_base_ = ['./attention_synthetic.py']

model = dict(
    neck=dict(
        _delete_=True,
        type='SumFusion',
        embed_dims={{_base_.embed_dims}},
        pool='cls'))

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
