# UMT (ICML 2023): each encoder's pooled feature distilled (MSE, weight 1:
# BalanceBenchmark 3f27575's) from a unimodal teacher. Two stages: train
# the teachers with tools/train.py and the unimodal configs named in
# `stage1` (into their default work_dirs); this config then loads their
# last checkpoints, frozen,
# with attention fusion + RollingQ (the authors' procedure),
# AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/rollingq-paper_vit-tiny_1xb64_av-digits-weak.py']

stage1 = 'unimodal-{}_vit-tiny_1xb64_av-digits-weak'  # the teachers' configs
teachers = {
    m: dict(
        config=f'configs/av_digits/{stage1.format(m)}.py',
        checkpoint=f'work_dirs/{stage1.format(m)}/epoch_30.pth')
    for m in ('audio', 'visual')
}
model = dict(balancer=dict(type='UMT', teachers=teachers))
custom_hooks = [
    dict(type='BalanceHook'),
    dict(
        type='RollingQHook',
        beta=0.0,
        sigma=0.0,
        max_rotations=1,
        stats='pass',
        air_from='last_batch',
        method='svd')
]
