# CREMA-D (6 emotions): audio spectrogram [1, 257, 188] + 3 video frames
# [3, 3, 224, 224] per clip. Layout and preparation: docs/datasets.md.
dataset_type = 'CremaD'
data_root = 'data/cremad/'
modalities = ['audio', 'visual']  # fusion order; must match model.encoders
num_frames = 3  # frames per clip (the paper)

# Frames: ImageNet mean / std on 0-255 RGB. The log spectrogram is used as
# it is, as in the reference code.
data_preprocessor = dict(
    type='MultimodalDataPreprocessor',
    normalize=dict(
        visual=dict(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))

# The paper's spectrogram: 22,050 Hz, 3 s (tiled), STFT n_fft 512, hop 353,
# log(|X| + 1e-7). It reads the .npy that prepare_cremad.py wrote with the
# same function when the dataset has spec_prefix, else the wav.
load_audio = dict(
    type='LoadAudioSpectrogram',
    sample_rate=22050,
    duration=3.0,
    n_fft=512,
    hop_length=353)
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
        ann_file='train.csv',  # the common split: 6,698 clips
        modalities=modalities,
        spec_prefix='spec',  # None: STFT of AudioWAV/<clip>.wav every epoch
        frame_prefix='Image-01-FPS',
        pipeline=train_pipeline))
# CREMA-D has no validation split: as the authors' code and the community
# do, the test split (744 clips) is used for validation too.
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='test.csv',
        modalities=modalities,
        spec_prefix='spec',
        frame_prefix='Image-01-FPS',
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
