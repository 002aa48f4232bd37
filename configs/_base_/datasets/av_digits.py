# AV-Digits: real spoken digits (FSDD) paired with real handwritten digits
# (scikit-learn's scans), written by
# tools/dataset_converters/prepare_av_digits.py
# (docs/av_digits.md). audio [1, 32, 64] log-mel, visual [1, 8, 8]; 10 classes;
# 2,100 / 300 / 600 samples. In 20% of the training samples and a third of the
# val / test samples one modality is replaced by noise (metainfo 'corrupted').
dataset_type = 'MultimodalArrayDataset'
data_root = 'data/av_digits'  # the imbalanced variant: data/av_digits_weak
modalities = ['audio', 'visual']
classes = tuple(str(digit) for digit in range(10))

pipeline = [dict(type='PackMultimodalInputs', modalities=modalities)]
dataset = dict(
    type=dataset_type,
    data_root=data_root,
    modalities=modalities,
    meta_keys=['corrupted'],  # per-sample quality group -> DataSample
    metainfo=dict(classes=classes),
    pipeline=pipeline)

train_dataloader = dict(
    batch_size=64,  # the paper's batch size
    num_workers=0,  # in-memory arrays: workers would only add overhead
    # no workers to keep alive; set because mmpretrain's tools/train.py
    # defaults to persistent_workers=True, which needs num_workers > 0
    persistent_workers=False,
    # each sample's random draws from a stream fixed by (seed, epoch, sample):
    # the same batches with any num_workers, and an exact resume
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(dataset, ann_file='train.npz'))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(dataset, ann_file='val.npz', test_mode=True))
test_dataloader = dict(
    val_dataloader, dataset=dict(dataset, ann_file='test.npz', test_mode=True))

# top-1, macro-F1, the detached probes' per-modality accuracy and accuracy per
# quality group; attention necks add the CLS attention share (overall and per
# group) and AIR.
fusion_metrics = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # macro-F1
    dict(type='ModalityAccuracy'),
    dict(type='GroupedAccuracy', group_key='corrupted'),
]
val_evaluator = fusion_metrics + [
    dict(type='AttentionShare', group_key='corrupted')
]
test_evaluator = val_evaluator
