# Kinetics-Sounds, two ResNet-18 + concatenation: the imbalance literature's
# baseline (docs/balance_methods.md, "The literature's setup").
_base_ = [
    '../_base_/models/resnet18-x2_concat.py',
    '../_base_/datasets/kinetics_sounds.py',
    '../_base_/schedules/sgd_steplr_100e.py', '../_base_/default_runtime.py'
]

model = dict(
    head=dict(num_classes=31),  # Kinetics-Sounds classes
    probe_heads=dict(num_classes=31))

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
