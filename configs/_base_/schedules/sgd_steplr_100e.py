# The modality-imbalance literature's schedule (OGM-GE's main.py; PMR keeps
# it): SGD lr 1e-3, momentum 0.9, weight decay 1e-4, batch 64 (set in the
# dataset configs), 100 epochs, the lr times 0.1 from epoch 70 on (StepLR,
# step 70, stepped per epoch). Differences of the other papers' code:
# docs/balance_methods.md, "The literature's setup".
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4))
max_epochs = 100
param_scheduler = [
    dict(type='StepLR', step_size=70, gamma=0.1, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# --auto-scale-lr scales lr by (GPUs x batch) / 64, the authors' batch size.
auto_scale_lr = dict(base_batch_size=64)
