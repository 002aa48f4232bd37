# The main job: RollingQ on the embedded default (attention baseline + hook).
_base_ = ['../baselines/attention_synthetic.py']

# The hook's defaults, chosen on AV-Digits and the synthetic set, 3 seeds
# (docs/av_digits.md): the authors' procedure. Every argument, spelled out:
custom_hooks = [
    dict(
        type='RollingQHook',
        beta=0.0,  # rotate when |AIR| > beta (paper: 0)
        sigma=0.0,  # anchor weights softmax(-2*sigma*c); 0 = equal (paper)
        max_rotations=1,  # one rotation (paper: 1; KS: 3). None re-anchors
        # at every check: -7 / -12 points on AV-Digits, attention pinned
        interval=1,  # check every epoch
        stats='pass',  # E[q], E[k] from an extra no-grad pass (paper)
        air_from='last_batch',  # AIR of the epoch's last batch (paper)
        method='svd')  # the authors' rotation ('planar': minimal one)
]
