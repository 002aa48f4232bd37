# The paper's schedule (RollingQ, ICML 2025; the authors' main.py):
# SGD lr 1e-3, momentum 0.9, weight decay 1e-4, batch 64 (set in the dataset
# configs), 30 epochs, cosine decay after a 2.5-epoch linear warm-up
# (transformers' get_cosine_schedule_with_warmup), both stepped per iteration.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-4))
max_epochs = 30
param_scheduler = [
    # The authors' warm-up starts at lr 0; LinearLR needs a factor > 0.
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=2.5,
        convert_to_iter_based=True),
    # no `end`: the runner sets it to train_cfg.max_epochs however that is
    # set (here, by inheritance or --cfg-options), so the lr reaches eta_min
    # at the end of every run
    dict(
        type='CosineAnnealingToEndLR',
        by_epoch=True,
        begin=2.5,
        eta_min=0.,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# --auto-scale-lr scales lr by (GPUs x batch) / 64, the paper's batch size.
auto_scale_lr = dict(base_batch_size=64)
