# Runtime shared by every rollingq_mm config.
default_scope = 'rollingq_mm'  # our registries, falling back to mmpretrain's
custom_imports = dict(imports=['rollingq_mm'], allow_failed_imports=False)
# mmengine's Runner with safe, strict checkpoint loading (load_from, --resume,
# tools/test.py): refuses checkpoints that are damaged, unsafe to unpickle,
# non-finite or that do not fit the model. tools/ flags: --non-strict,
# --trust-checkpoint. Scoped, so that mmpretrain's tools/train.py, which builds
# the runner from mmengine's root registry, finds it too.
runner_type = 'rollingq_mm.RobustRunner'
load_strict = True  # missing / unexpected / mis-shaped keys are errors
trust_checkpoint = False  # True: unpickle checkpoints in full (own files only)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last 2 epochs and the best by top-1 accuracy
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='accuracy/top1',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # fail before the first iteration on data / model / metric mismatches
    preflight=dict(type='PreflightHook'),
    # stop at the first NaN / inf loss, naming the last good checkpoint
    divergence=dict(type='DivergenceHook'),
    # best / last metrics, rotations, AIR and where the outputs are, at the end
    summary=dict(type='RunSummaryHook'),
    # random states in checkpoints: --resume continues the same run
    exact_resume=dict(type='ExactResumeHook'),
    # checkpoints of tensors and plain containers: mmengine's own loader
    # (init_cfg Pretrained, another project's load_from) reads them safely
    plain_checkpoint=dict(type='PlainCheckpointHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(
        backend='nccl'),  # tools/ switch to gloo when there is no GPU
)

vis_backends = [dict(type='LocalVisBackend')]  # add TensorboardVisBackend here
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
