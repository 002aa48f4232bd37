# UMT (ICML 2023): each encoder's pooled feature distilled (MSE, weight 1:
# BalanceBenchmark 3f27575's) from a unimodal teacher. Two stages: train
# the teachers with tools/train.py and the unimodal configs named in
# `stage1` (into their default work_dirs); this config then loads their
# last checkpoints, frozen,
# with attention fusion + RollingQ (the authors' procedure),
# the synthetic set (docs/balance_methods.md).
_base_ = ['../rollingq/rollingq-paper_synthetic.py']

stage1 = 'unimodal-{}_synthetic'  # the teachers' configs
teachers = {
    m: dict(
        config=f'configs/baselines/{stage1.format(m)}.py',
        checkpoint=f'work_dirs/{stage1.format(m)}/epoch_10.pth')
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
