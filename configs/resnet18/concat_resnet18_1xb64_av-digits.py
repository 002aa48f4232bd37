# The literature's two-ResNet-18 setup (concatenation) on AV-Digits' arrays
# (docs/balance_methods.md); see the attention config for the token counts.
_base_ = [
    '../_base_/models/resnet18-x2_concat.py',
    '../_base_/datasets/av_digits.py',
    '../_base_/schedules/sgd_steplr_100e.py', '../_base_/default_runtime.py'
]

model = dict(
    encoders=dict(visual=dict(in_channels=1)),  # grayscale images [1, 8, 8]
    head=dict(num_classes=10),  # digits
    probe_heads=dict(num_classes=10))
# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
