# UMT (ICML 2023): each encoder's pooled feature distilled (MSE, weight 1:
# BalanceBenchmark 3f27575's) from a unimodal teacher. Two stages: train
# the teachers with tools/train.py and the unimodal configs named in
# `stage1` (into their default work_dirs); this config then loads their
# last checkpoints, frozen,
# on concat fusion, AV-Digits (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits.py']

stage1 = 'unimodal-{}_vit-tiny_1xb64_av-digits'  # the teachers' configs
teachers = {
    m: dict(
        config=f'configs/av_digits/{stage1.format(m)}.py',
        checkpoint=f'work_dirs/{stage1.format(m)}/epoch_30.pth')
    for m in ('audio', 'visual')
}
model = dict(balancer=dict(type='UMT', teachers=teachers))
custom_hooks = [dict(type='BalanceHook')]
