# The paper's schedule shape (SGD, momentum 0.9, wd 1e-4, batch 64, linear
# warm-up then cosine, stepped per iteration), with a larger lr because the
# encoders start from scratch. The cosine's end is left to the runner, which
# sets it to train_cfg.max_epochs however that is set (config, inheritance or
# --cfg-options), so the lr reaches eta_min at the end of every run.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingToEndLR',
        by_epoch=True,
        begin=1,
        eta_min=0.,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
