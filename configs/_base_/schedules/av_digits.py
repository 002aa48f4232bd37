# The embedded default's schedule (the paper's shape: SGD, momentum 0.9, wd
# 1e-4, batch 64, linear warm-up then a cosine that ends with the run; lr
# 0.05 because the encoders start from scratch), for 30 epochs.
_base_ = ['./synthetic.py']

max_epochs = 30
train_cfg = dict(max_epochs=max_epochs)
