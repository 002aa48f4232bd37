# OPM (TPAMI 2024): drop the dominant modality's features per
# sample; q_base 0.5, lambda 0.5, p_exe 0.7, no OPM in epochs 0-5:
# the authors' train_opm.sh
# on concat fusion, AV-Digits (visual weakened) (docs/balance_methods.md).
_base_ = ['../av_digits/concat_vit-tiny_1xb64_av-digits-weak.py']

model = dict(balancer=dict(type='OPM'))
custom_hooks = [dict(type='BalanceHook')]
