# The audio modality alone (its encoder's CLS token -> linear head).
_base_ = ['./attention_vit-tiny_1xb64_av-digits.py']

modalities = ['audio']
pipeline = [dict(type='PackMultimodalInputs', modalities=modalities)]
model = dict(
    encoders=dict(_delete_=True, audio={{_base_.model.encoders.audio}}),
    neck=dict(_delete_=True, type='ConcatFusion'),
    probe_heads=None)
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline=pipeline))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline=pipeline))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline=pipeline))
# one modality: no probes, no attention
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),
    dict(type='GroupedAccuracy', group_key='corrupted'),
]
test_evaluator = val_evaluator
