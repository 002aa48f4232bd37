# The literature's two-ResNet-18 setup with attention fusion on AV-Digits'
# arrays (docs/balance_methods.md). The shapes run, but ResNet-18 divides
# each side by 32: the log-mel [1, 32, 64] leaves 1 x 2 positions and the
# handwriting [1, 8, 8] a single one, so the CLS token attends over 3 tokens.
_base_ = [
    '../_base_/models/resnet18-x2_attention.py',
    '../_base_/datasets/av_digits.py',
    '../_base_/schedules/sgd_steplr_100e.py', '../_base_/default_runtime.py'
]

model = dict(
    encoders=dict(visual=dict(in_channels=1)),  # grayscale images [1, 8, 8]
    head=dict(num_classes=10),  # digits
    probe_heads=dict(num_classes=10))
