# CREMA-D, two ResNet-18 + concatenation with BalanceBenchmark's optimiser
# (AdamW 1e-3, weight decay 0.01, StepLR 10 / 0.1, 30 epochs, batch 32): the
# setup of its 17-method table (docs/balance_methods.md).
_base_ = [
    '../_base_/models/resnet18-x2_concat.py', '../_base_/datasets/cremad.py',
    '../_base_/schedules/adamw_steplr_30e.py', '../_base_/default_runtime.py'
]

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}

train_dataloader = dict(batch_size=32)  # BalanceBenchmark's
