# Kinetics-Sounds (31 classes): fbank [1, 1024, 128] (time x mel, fed as
# stored, like the reference code) + 3 frames [3, 3, 224, 224] per clip.
# Layout and preparation: docs/datasets.md.
dataset_type = 'KineticsSounds'
data_root = 'data/kinetics_sounds/'
modalities = ['audio', 'visual']  # fusion order; must match model.encoders
num_frames = 3  # frames per clip (the paper)

# Frames: ImageNet mean / std on 0-255 RGB. The fbank is used as it is, as
# in the reference code.
data_preprocessor = dict(
    type='MultimodalDataPreprocessor',
    normalize=dict(
        visual=dict(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))

# Kaldi-style log-mel fbank: 128 bins, 10 ms shift, 1024 frames (10.24 s)
load_audio = dict(type='LoadSpectrogramNpy', expected_shape=(1024, 128))
train_pipeline = [
    load_audio,
    # one frame at a random position in each of 3 equal segments
    dict(type='LoadFrames', num_frames=num_frames, test_mode=False),
    # the reference's train augmentation, drawn once per clip
    dict(
        type='FrameTransforms',
        transforms=[
            dict(type='RandomResizedCrop', scale=224),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        ]),
    dict(type='PackMultimodalInputs', modalities=modalities),
]
test_pipeline = [
    load_audio,
    # deterministic: the centre frame of each segment
    dict(type='LoadFrames', num_frames=num_frames, test_mode=True),
    # the reference code resizes test frames to 224 x 224 (no crop)
    dict(
        type='FrameTransforms',
        transforms=[dict(type='Resize', scale=(224, 224))]),
    dict(type='PackMultimodalInputs', modalities=modalities),
]

train_dataloader = dict(
    batch_size=64,  # the paper
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ks_train.txt',
        modalities=modalities,
        spec_prefix='train_spec',
        frame_prefix='train_frames',
        # classes_file='classes.txt',  # class names, one a line
        # True drops clips with missing files (logged), as the reference
        # code silently does; False stops with the list of missing files
        skip_missing=False,
        pipeline=train_pipeline))
# Kinetics-Sounds has no validation split in the common protocol: as the
# authors' code does, the test split is used for validation too.
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ks_test.txt',
        modalities=modalities,
        spec_prefix='test_spec',
        frame_prefix='test_frames',
        skip_missing=False,
        pipeline=test_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

# Metrics of every fusion model: top-1, macro-F1 and the detached probes'
# per-modality accuracy; attention necks add the CLS attention share and AIR.
fusion_metrics = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', average='macro'),  # macro-F1
    dict(type='ModalityAccuracy'),
]
val_evaluator = fusion_metrics + [dict(type='AttentionShare')]
test_evaluator = val_evaluator
