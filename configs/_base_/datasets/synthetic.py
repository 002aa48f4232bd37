# The embedded default: SyntheticMultimodal, generated in memory from a seed.
# audio [1, 32, 32] (easy, learned first) and visual [3, 32, 32] (harder).
# One modality of a sample may be replaced by noise (metainfo 'corrupted'):
# rarely in training (5%), often at evaluation (30%), so that evaluation shows
# whether the fusion turns to the clean modality when the favoured one is
# noise.
dataset_type = 'SyntheticMultimodal'
modalities = ['audio', 'visual']
data_seed = 0  # the task (prototypes) and the draws of every split

pipeline = [dict(type='PackMultimodalInputs', modalities=modalities)]

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
    dataset=dict(
        type=dataset_type,
        split='train',
        num_samples=2000,
        seed=data_seed,
        corrupt_prob=0.05,
        modalities=modalities,
        pipeline=pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        split='val',
        num_samples=1000,
        seed=data_seed,
        modalities=modalities,
        pipeline=pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        split='test',
        num_samples=1000,
        seed=data_seed,
        modalities=modalities,
        pipeline=pipeline,
        test_mode=True))

# Metrics of every fusion model: top-1, macro-F1, the detached probes'
# per-modality accuracy and accuracy on clean / corrupted samples; attention
# necks add the CLS attention share (overall and per group) and AIR.
fusion_metrics = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # macro-F1
    dict(type='ModalityAccuracy'),
    dict(type='GroupedAccuracy'),
]
val_evaluator = fusion_metrics + [
    dict(type='AttentionShare', group_key='corrupted')
]
test_evaluator = val_evaluator
