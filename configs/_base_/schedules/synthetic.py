# The paper's schedule shape (SGD, cosine with warm-up), shortened for the
# embedded default and with a larger lr since its ViTs start from scratch.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
max_epochs = 10
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    # no `end`: the runner sets it to train_cfg.max_epochs however that is
    # set (here, by inheritance or --cfg-options), so the lr reaches eta_min
    # at the end of every run
    dict(
        type='CosineAnnealingToEndLR',
        by_epoch=True,
        begin=1,
        eta_min=0.,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
