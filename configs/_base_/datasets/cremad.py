# CREMA-D (6 emotions): audio spectrogram [1, 257, 188] + 3 video frames
# [3, 3, 224, 224] per clip. Layout and preparation: docs/datasets.md.
dataset_type = 'CremaD'
data_root = 'data/cremad/'
modalities = ['audio', 'visual']  # fusion order; must match model.encoders
num_frames = 3  # frames per clip (the paper)

# Frames: ImageNet mean / std on 0-255 RGB (the authors' ToTensor +
# Normalize, x 255). The log spectrogram is used as it is, as theirs.
data_preprocessor = dict(
    type='MultimodalDataPreprocessor',
    normalize=dict(
        visual=dict(
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])))

# The authors' spectrogram (dataset/CramedDataset.py of the RollingQ code):
# librosa.load at 22,050 Hz (soxr 'soxr_hq', librosa's output length), tile
# to 3 s, clip to [-1, 1], librosa.stft n_fft 512, hop 353, log(|X| + 1e-7)
# -> [257, 188]. Clips shorter than 1 s are tiled as often as needed (the
# authors tile 3 times and get fewer than 188 columns): a fix, not an option.
# It reads the .npy that prepare_cremad.py wrote with the same function when
# the dataset has spec_prefix, else the wav.
load_audio = dict(
    type='LoadAudioSpectrogram',
    sample_rate=22050,
    duration=3.0,
    n_fft=512,
    hop_length=353)
# Frames as the authors: decoded by PIL (.convert('RGB')), then torchvision's
# own transforms on PIL images (mmpretrain registers them as torchvision/*),
# so the resizing is PIL's antialiased bilinear and the random crop and flip
# are drawn by torchvision from torch's generator, as in their loader.
# Options that depart from it (docs/datasets.md, "Departures"): backend='cv2'
# in LoadFrames; mmcv's RandomResizedCrop / RandomFlip / Resize (cv2, no
# antialiasing) in place of the torchvision ones; share_params=True (one
# crop and flip per clip); sampler='segment' (fixed test frames).
train_pipeline = [
    load_audio,
    # 3 frames drawn uniformly with replacement, sorted (np.random.choice)
    dict(
        type='LoadFrames',
        num_frames=num_frames,
        sampler='random',
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
    # the authors' draw at test too, seeded by (seed, sample index), so that
    # every evaluation of a checkpoint sees the same frames
    dict(
        type='LoadFrames',
        num_frames=num_frames,
        sampler='random',
        seed=0,
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
