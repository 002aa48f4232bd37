# Kinetics-Sounds, attention fusion without RollingQ (paper: 67.0%).
_base_ = [
    '../_base_/models/vit-b16-4l_attention.py',
    '../_base_/datasets/kinetics_sounds.py', '../_base_/schedules/sgd_30e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    encoders=dict(audio=dict(img_size=(1024, 128))),  # fbank [1, T, mel]
    head=dict(num_classes=31),  # Kinetics-Sounds classes
    probe_heads=dict(num_classes=31))
