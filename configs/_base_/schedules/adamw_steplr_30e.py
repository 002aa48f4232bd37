# BalanceBenchmark's schedule for every method (configs/global_config.yaml,
# commit 3f27575): AdamW lr 1e-3, weight decay 0.01, batch 32 (set in the
# configs that use it), 30 epochs, the lr times 0.1 every 10 epochs (StepLR,
# stepped per epoch).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
max_epochs = 30
param_scheduler = [
    dict(type='StepLR', step_size=10, gamma=0.1, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# --auto-scale-lr scales lr by (GPUs x batch) / 32, BalanceBenchmark's batch.
auto_scale_lr = dict(base_batch_size=32)
