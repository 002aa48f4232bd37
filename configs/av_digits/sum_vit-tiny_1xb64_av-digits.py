# Sum of each modality's CLS token (no attention) on AV-Digits.
_base_ = ['./attention_vit-tiny_1xb64_av-digits.py']

model = dict(
    neck=dict(
        _delete_=True, type='SumFusion', embed_dims={{_base_.embed_dims}}))
val_evaluator = {{_base_.fusion_metrics}}  # no attention: no AttentionShare
test_evaluator = {{_base_.fusion_metrics}}
