# CMU-MOSEI, concatenation of the encoders' CLS tokens (paper: 62.8%).
_base_ = ['./attention_transformer-4l_1xb64_mosei.py']

model = dict(
    neck=dict(_delete_=True, type='ConcatFusion', pool='cls'),
    head=dict(in_channels=2304))  # 3 x 768: text, audio, visual CLS

# no attention: no AttentionShare
val_evaluator = {{_base_.fusion_metrics}}
test_evaluator = {{_base_.fusion_metrics}}
