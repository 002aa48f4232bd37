"""RollingQHook on a tiny model and a minimal runner (no mmengine Runner)."""
import io
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.model import BaseModel

from rollingq_mm.engine import RollingQHook
from rollingq_mm.engine.hooks import StatisticsCollector
from rollingq_mm.models import RollingQAttention, RollingQuery
from rollingq_mm.ops import anchor_query, modality_weights
from rollingq_mm.utils.checkpoint import pop_legacy_history

DIM, SLICES = 8, {'audio': slice(1, 4), 'visual': slice(4, 9)}


class TinyFusion(BaseModel):
    """A RollingQAttention over [CLS, audio x3, visual x5] input tokens."""

    def __init__(self, num_layers=1):
        super().__init__()
        self.layers = torch.nn.ModuleList([
            RollingQAttention(DIM, cls_only=False) for _ in range(num_layers)
        ])

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = inputs
        for layer in self.layers:
            x, _ = layer(x, SLICES)
        return x


class FakeRunner(SimpleNamespace):
    pass


def _runner(model, batches, epoch=0):
    logger = MMLogger.get_current_instance()
    scalars = []
    visualizer = SimpleNamespace(
        add_scalars=lambda values, step: scalars.append((step, values)))
    return FakeRunner(
        model=model,
        epoch=epoch,
        logger=logger,
        visualizer=visualizer,
        message_hub=MessageHub.get_instance('rollingq_test'),
        train_dataloader=[dict(inputs=b) for b in batches],
        scalars=scalars)


def _batches(num=3, seed=0, bias=2.0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num):
        x = torch.randn(4, 9, DIM, generator=gen)
        x[:, SLICES['audio']] += bias  # make the modalities' keys differ
        out.append(x)
    return out


def _train_epoch(hook, runner):
    """What the train loop does around the hook (forward only)."""
    hook.before_train_epoch(runner)
    with torch.no_grad():
        for index, data in enumerate(runner.train_dataloader):
            hook.before_train_iter(runner, index)
            runner.model(**data)
            hook.after_train_iter(runner, index)
    hook.after_train_epoch(runner)


def _direct_cosines(model, batches, layer=0):
    """cos(q, k̄_m) per sample, recomputed by hand from the weights."""
    attn = model.layers[layer]
    cos = []
    for x in batches:
        q = attn.rolling_query(attn.q(x[:, 0]))
        keys, _ = attn.kv(x).chunk(2, dim=-1)
        means = torch.stack([keys[:, s].mean(1) for s in SLICES.values()], 1)
        cos.append(
            torch.nn.functional.cosine_similarity(q[:, None], means, -1))
    return torch.cat(cos).detach()


@pytest.mark.parametrize('air_from', ['epoch', 'last_batch'])
def test_air_equals_a_direct_computation(air_from):
    torch.manual_seed(0)
    model, batches = TinyFusion().eval(), _batches()
    runner = _runner(model, batches)
    hook = RollingQHook(beta=10., air_from=air_from)  # never rotates
    _train_epoch(hook, runner)
    cos = _direct_cosines(model, batches)
    if air_from == 'last_batch':
        cos = cos[-4:]
    record = hook.history['layers.0.rolling_query'][-1]
    assert record.air == pytest.approx(
        (cos[:, 0] - cos[:, 1]).mean().item(), abs=1e-5)
    assert record.cosines['visual'] == pytest.approx(
        cos[:, 1].mean().item(), abs=1e-5)
    assert not record.rotated and record.epoch == 1
    step, scalars = runner.scalars[-1]
    assert step == 1 and scalars['rollingq/air'] == pytest.approx(record.air)
    assert {
        'rollingq/cos_audio', 'rollingq/weight_visual', 'rollingq/share_audio',
        'rollingq/rotated'
    } <= set(scalars)
    assert isinstance(scalars['rollingq/num_rotations'], int)


@pytest.mark.parametrize('stats', ['epoch', 'pass'])
@pytest.mark.parametrize('method', ['planar', 'svd'])
def test_rotated_mean_query_is_parallel_to_the_anchor(stats, method):
    torch.manual_seed(1)
    model, batches = TinyFusion().eval(), _batches(seed=1)
    runner = _runner(model, batches)
    query = model.layers[0].rolling_query
    with torch.no_grad():
        q_mean = torch.cat([model.layers[0].q(x[:, 0])
                            for x in batches]).mean(0)
        keys = torch.cat(
            [model.layers[0].kv(x).chunk(2, -1)[0] for x in batches])
    key_means = torch.stack(
        [keys[:, s].mean(1).mean(0) for s in SLICES.values()])
    sigma = 1.0
    hook = RollingQHook(sigma=sigma, stats=stats, method=method)
    _train_epoch(hook, runner)
    assert int(query.num_rotations) == 1
    check = hook.history['layers.0.rolling_query'][-1]
    cos = torch.tensor(list(check.cosines.values()))
    anchor = anchor_query(q_mean, key_means, modality_weights(cos, sigma))
    rotated_mean = query.rotation.double() @ q_mean.double()
    similarity = torch.nn.functional.cosine_similarity(rotated_mean, anchor, 0)
    assert similarity.item() >= 1 - 1e-4
    assert rotated_mean.norm().item() == pytest.approx(
        q_mean.norm().item(), rel=1e-5)


def test_max_rotations_is_respected():
    model, batches = TinyFusion().eval(), _batches()
    runner = _runner(model, batches)
    hook = RollingQHook(max_rotations=2, stats='epoch')
    for epoch in range(4):
        runner.epoch = epoch
        _train_epoch(hook, runner)
    query = model.layers[0].rolling_query
    assert int(query.num_rotations) == 2
    assert [r.rotated for r in hook.history['layers.0.rolling_query']
            ] == [True, True, False, False]


def test_beta_and_interval_gate_the_rotation():
    model, batches = TinyFusion().eval(), _batches()
    runner = _runner(model, batches)
    _train_epoch(RollingQHook(beta=1.99), runner)
    assert int(model.layers[0].rolling_query.num_rotations) == 0
    hook = RollingQHook(interval=2)
    _train_epoch(hook, runner)  # epoch 1 of interval 2: not checked at all
    assert hook.history == {}
    runner.epoch = 1
    _train_epoch(hook, runner)
    assert len(hook.history['layers.0.rolling_query']) == 1


def test_progressive_rotates_one_layer_per_check():
    model, batches = TinyFusion(num_layers=2).eval(), _batches()
    runner = _runner(model, batches)
    hook = RollingQHook(max_rotations=1)
    _train_epoch(hook, runner)
    counts = [int(layer.rolling_query.num_rotations) for layer in model.layers]
    assert counts == [1, 0]
    runner.epoch = 1
    _train_epoch(hook, runner)
    counts = [int(layer.rolling_query.num_rotations) for layer in model.layers]
    assert counts == [1, 1]
    assert 'rollingq/layers.1.rolling_query/air' in runner.scalars[-1][1]


def test_progressive_without_a_cap_takes_turns():
    model, batches = TinyFusion(num_layers=2).eval(), _batches()
    runner = _runner(model, batches)
    hook = RollingQHook(max_rotations=None)
    history = []
    for epoch in range(4):
        runner.epoch = epoch
        _train_epoch(hook, runner)
        history.append(
            [int(x.rolling_query.num_rotations) for x in model.layers])
    assert history == [[1, 0], [1, 1], [2, 1], [2, 2]]


def test_degenerate_statistics_skip_the_rotation():
    model = TinyFusion().eval()
    attn = model.layers[0]
    with torch.no_grad():
        attn.kv.bias.zero_()
    batches = _batches()
    for x in batches:
        x[:, SLICES['visual']] = 0.  # zero keys: no direction for the anchor
    runner = _runner(model, batches)
    hook = RollingQHook()
    _train_epoch(hook, runner)
    assert int(attn.rolling_query.num_rotations) == 0
    assert torch.equal(attn.rolling_query.rotation, torch.eye(DIM))
    check = hook.history['layers.0.rolling_query'][-1]
    assert not check.rotated and check.reason.startswith('degenerate')


def test_the_hook_needs_a_rolling_query_and_valid_arguments():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match='no RollingQuery'):
        RollingQHook().before_train(_runner(model, []))
    with pytest.raises(ValueError, match='stats'):
        RollingQHook(stats='batch')
    with pytest.raises(ValueError, match='method'):
        RollingQHook(method='euler')
    with pytest.raises(ValueError, match='interval'):
        RollingQHook(interval=0)


def test_non_finite_statistics_are_skipped_with_a_warning():
    model, batches = TinyFusion().eval(), _batches()
    batches[-1][0, 0, 0] = float('nan')  # a broken CLS token, last batch
    runner = _runner(model, batches)
    hook = RollingQHook()
    _train_epoch(hook, runner)
    query = model.layers[0].rolling_query
    assert int(query.num_rotations) == 0 and hook.history == {}
    assert torch.equal(query.rotation, torch.eye(DIM))


def test_reasons_not_to_rotate_are_logged():
    model, batches = TinyFusion().eval(), _batches()
    runner = _runner(model, batches)
    logs = []
    runner.logger = SimpleNamespace(info=logs.append, warning=logs.append)
    hook = RollingQHook(max_rotations=1)
    for epoch in range(2):
        runner.epoch = epoch
        _train_epoch(hook, runner)
    runner.epoch = 2
    _train_epoch(RollingQHook(beta=1.99, max_rotations=None), runner)
    assert logs[0].startswith('RollingQ statistics pass: 3 of 3 done in')
    logs = [line for line in logs if ' epoch ' in line]
    assert logs[0].endswith('-> ROTATED (rotation #1)')
    assert logs[1].endswith(
        '-> not rotated: cap reached (1 of max_rotations=1)')
    assert logs[2].endswith('-> not rotated: |AIR| <= beta=1.99')
    assert 'num_rotations: 1,' in logs[1]  # counts as integers


def test_one_modality_and_a_silent_attention_fail_before_work():
    model = TinyFusion()
    model.modalities = ['audio']  # as MultimodalClassifier declares them
    with pytest.raises(RuntimeError, match='single modality'):
        RollingQHook().before_train(_runner(model, []))

    class Silent(torch.nn.Module):  # holds a query, returns no record

        def __init__(self):
            super().__init__()
            self.rolling_query = RollingQuery(DIM)

        def forward(self, x):
            return self.rolling_query(x)

    model = Silent()
    runner = _runner(model, [])
    hook = RollingQHook()
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner, 0)
    with pytest.raises(TypeError, match='returned no AttentionRecord'):
        model(torch.randn(2, DIM))
    assert not model._forward_hooks


def test_the_history_travels_in_the_checkpoint_meta():
    model, batches = TinyFusion().eval(), _batches()
    runner = _runner(model, batches)
    hook = RollingQHook()
    for epoch in range(2):
        runner.epoch = epoch
        _train_epoch(hook, runner)
    checkpoint = dict(meta={}, state_dict=model.state_dict())
    hook.before_save_checkpoint(runner, checkpoint)
    saved = checkpoint['meta']['rollingq_hook']
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)  # plain containers: weights_only loads it
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    assert checkpoint['meta']['rollingq_hook'] == saved

    fresh = TinyFusion()
    fresh.load_state_dict(checkpoint['state_dict'])
    logs = []
    runner = _runner(fresh, batches)
    runner.logger = SimpleNamespace(info=logs.append, warning=logs.append)
    restored = RollingQHook()
    restored.after_load_checkpoint(runner, checkpoint)  # load_from: no
    assert restored.history == {}
    runner._resume = True
    restored.after_load_checkpoint(runner, checkpoint)
    assert restored.history == hook.history
    restored.before_train(runner)
    assert 'restored 1 rotation(s) (at epoch(s) [1])' in logs[0]
    runner.epoch = 2
    _train_epoch(restored, runner)
    checks = restored.history['layers.0.rolling_query']
    assert [(c.epoch, c.rotated) for c in checks] == [(1, True), (2, False),
                                                      (3, False)]


def test_a_release_two_checkpoint_resumes_with_its_history():
    model = TinyFusion()
    state = model.state_dict()
    row = [1., 0.2, 1., 2., 0.5, 0.3, 0.5, 0.5, 0.6, 0.4]
    state['module.layers.0.rolling_query.air_history'] = torch.tensor([row])
    checkpoint = dict(meta={}, state_dict=state)
    runner = _runner(model, [])
    runner._resume = True
    model.modalities = ['audio', 'visual']
    # what the runner's loader does, once, as it reads the file
    pop_legacy_history(checkpoint, model.modalities)
    assert not any('air_history' in key for key in checkpoint['state_dict'])
    hook = RollingQHook()
    hook.after_load_checkpoint(runner, checkpoint)
    (check, ) = hook.history['layers.0.rolling_query']
    assert (check.epoch, check.rotated) == (1, True)
    assert check.cosines == pytest.approx(dict(audio=0.5, visual=0.3))
    assert check.shares == pytest.approx(dict(audio=0.6, visual=0.4))


def _collected_batch_sizes(runner, **kwargs):
    """The batch size of every record the hook collects in one epoch."""
    seen = []
    attn = runner.model.layers[0]
    handle = attn.register_forward_hook(
        lambda module, args, output: seen.append(output[1].q_cls.shape[0]))
    hook = RollingQHook(beta=10., **kwargs)
    original = StatisticsCollector.open

    def spy(collector):  # which batches run while the collector is open
        seen.append('open')
        return original(collector)

    try:
        StatisticsCollector.open = spy
        _train_epoch(hook, runner)
    finally:
        StatisticsCollector.open = original
        handle.remove()
    return seen, hook


def test_the_defaults_collect_only_the_last_batch():
    model = TinyFusion().eval()
    batches = _batches(num=3)
    batches[2] = batches[2][:3]  # a smaller last batch
    runner = _runner(model, batches)
    # defaults: stats='pass', air_from='last_batch'
    seen, hook = _collected_batch_sizes(runner)
    assert seen == [4, 4, 'open', 3]
    assert hook.history['layers.0.rolling_query'][-1].epoch == 1
    seen, _ = _collected_batch_sizes(runner, stats='epoch')
    assert seen == ['open', 4, 4, 3]
