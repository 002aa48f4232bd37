# The same on the imbalanced AV-Digits (visual weakened: --weaken visual=0.6).
_base_ = ['./unimodal-audio_vit-tiny_1xb64_av-digits.py']

data_root = 'data/av_digits_weak'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
