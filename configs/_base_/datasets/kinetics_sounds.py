# Kinetics-Sounds (31 classes): fbank [1, 1024, 128] (time x mel, fed as
# stored, like the reference code) + 3 frames [3, 3, 224, 224] per clip.
# Layout and preparation: docs/datasets.md.
dataset_type = 'KineticsSounds'
data_root = 'data/kinetics_sounds/'
modalities = ['audio', 'visual']  # fusion order; must match model.encoders
num_frames = 3  # frames per clip (the paper)

# Frames: ImageNet mean / std on 0-255 RGB (the authors' ToTensor +
# Normalize, x 255). The fbank is used as it is, as theirs.
data_preprocessor = dict(
    type='MultimodalDataPreprocessor',
    normalize=dict(
        visual=dict(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))

# Kaldi-style log-mel fbank: 128 bins, 10 ms shift, 1024 frames (10.24 s)
load_audio = dict(type='LoadSpectrogramNpy', expected_shape=(1024, 128))
# Frames as the authors (dataset/KSDataset.py of the RollingQ code): PIL
# decode, torchvision's transforms on PIL images (antialiased bilinear; crop
# and flip drawn per frame from torch's generator). Options that depart from
# it are listed in docs/datasets.md ("Departures") and in cremad.py.
train_pipeline = [
    load_audio,
    # t = randint(i * seg + 1, (i + 1) * seg), at most 9 (seg = n // 3; t = 1
    # when n <= 6), frame t = the t-th in name order
    dict(
        type='LoadFrames',
        num_frames=num_frames,
        sampler='kinetics_sounds',
        backend='pillow',
        test_mode=False),
    dict(
        type='FrameTransforms',
        share_params=False,  # the authors draw crop and flip per frame
        transforms=[
            dict(type='NumpyToPIL'),
            dict(type='torchvision/RandomResizedCrop', size=224),
            dict(type='torchvision/RandomHorizontalFlip'),
            dict(type='PILToNumpy'),
        ]),
    dict(type='PackMultimodalInputs', modalities=modalities),
]
test_pipeline = [
    load_audio,
    # fixed: t = i * seg + max(seg // 2, 1); t = 1 when n <= 6
    dict(
        type='LoadFrames',
        num_frames=num_frames,
        sampler='kinetics_sounds',
        backend='pillow',
        test_mode=True),
    # Resize(size=(224, 224)): no crop, aspect ratio not kept
    dict(
        type='FrameTransforms',
        transforms=[
            dict(type='NumpyToPIL'),
            dict(type='torchvision/Resize', size=(224, 224)),
            dict(type='PILToNumpy'),
        ]),
    dict(type='PackMultimodalInputs', modalities=modalities),
]

train_dataloader = dict(
    batch_size=64,  # the paper
    num_workers=8,
    persistent_workers=True,
    # each sample's random draws from a stream fixed by (seed, epoch, sample):
    # the same batches with any num_workers, and an exact resume
    sampler=dict(type='SeededSampler', shuffle=True),
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
        # the authors keep a clip only if its frame folder has > 3 entries
        drop_short_clips=3,
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
        drop_short_clips=3,  # the authors' filter, so the same test set
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
