# Kinetics-Sounds, concatenation of the two encoders' CLS tokens
# (paper: 68.0%, above attention fusion).
_base_ = ['./attention_vit-b16-4l_1xb64_kinetics-sounds.py']

model = dict(
    neck=dict(_delete_=True, type='ConcatFusion', pool='cls'),
    head=dict(in_channels=1536))  # 2 x 768: audio CLS + visual CLS

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
