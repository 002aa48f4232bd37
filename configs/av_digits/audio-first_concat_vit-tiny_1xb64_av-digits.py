# The audio-first regime (docs/two_stage.md): the audio encoder starts from
# the unimodal audio model, so that audio is far ahead from the first step —
# the imbalance the balance methods exist for; concat fusion.
# Stage 1: python tools/train.py \
#     configs/av_digits/unimodal-audio_vit-tiny_1xb64_av-digits.py
# (writes work_dirs/unimodal-audio_vit-tiny_1xb64_av-digits/epoch_30.pth).
# Any method config joins the regime with the same three options
# (configs/balance/README.md, "Reproduce").
_base_ = ['./concat_vit-tiny_1xb64_av-digits.py']

model = dict(
    encoders=dict(
        audio=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint='work_dirs/unimodal-audio_vit-tiny_1xb64_av-digits/'
                'epoch_30.pth',
                prefix='encoders.audio.'))))
