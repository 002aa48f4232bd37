# CMU-MOSEI binary sentiment on the MulT / MultiBench feature pickle:
# text [L, 300] (GloVe), audio [L, 74] (COVAREP), visual [L, 35] (Facet).
# Layout and download: docs/datasets.md.
dataset_type = 'CMUMOSEI'
data_root = 'data/mosei/'
# The RollingQ authors point to BalanceBench's preprocessing, which reads the
# unaligned pickle (text 50, audio / visual 500 steps). The aligned one
# (mosei_senti_data.pkl, 50 steps each) works the same.
ann_file = 'mosei_senti_data_noalign.pkl'
# Any two, or all three; keep model.encoders the same (same order).
modalities = ['text', 'audio', 'visual']
# Binary label: 'non_negative' (y >= 0 -> 1, BalanceBench's acc2) or
# 'positive' (y > 0 -> 1, MultiBench / MulT Acc-2).
label_rule = 'non_negative'

pipeline = [dict(type='PackMultimodalInputs', modalities=modalities)]

train_dataloader = dict(
    batch_size=64,  # the paper
    num_workers=0,  # in-memory arrays: workers would only add overhead
    # no workers to keep alive; set because mmpretrain's tools/train.py
    # defaults to persistent_workers=True, which needs num_workers > 0
    persistent_workers=False,
    # each sample's random draws from a stream fixed by (seed, epoch, sample):
    # the same batches with any num_workers, and an exact resume
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='train',
        modalities=modalities,
        label_rule=label_rule,
        pipeline=pipeline))
# MOSEI has a real validation split: model selection uses 'valid' only.
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='valid',
        modalities=modalities,
        label_rule=label_rule,
        pipeline=pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split='test',
        modalities=modalities,
        label_rule=label_rule,
        pipeline=pipeline,
        test_mode=True))

# Metrics of every fusion model: top-1, macro-F1 and the detached probes'
# per-modality accuracy; attention necks add the CLS attention share and AIR.
fusion_metrics = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # macro-F1
    dict(type='ModalityAccuracy'),
]
val_evaluator = fusion_metrics + [dict(type='AttentionShare')]
test_evaluator = val_evaluator
