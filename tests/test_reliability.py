"""Every mistake a new user makes ends in a clear error, not a wrong number.

One case per row of the "no silent failures" table: each would have ended
with exit code 0 and a wrong result (or failed after the work was done) in
the first release.
"""
import importlib.util
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(ROOT, 'tools')
MAIN = osp.join(ROOT, 'configs', 'rollingq', 'rollingq_synthetic.py')
CONCAT = osp.join(ROOT, 'configs', 'baselines', 'concat_synthetic.py')
# a RollingQ checkpoint written by the first release (main at 5ca5f3c)
OLD_CHECKPOINT = osp.join(ROOT, 'tests', 'data',
                          'rollingq_synthetic_main-5ca5f3c.pth')
SMALL = [
    'train_dataloader.dataset.num_samples=128',
    'val_dataloader.dataset.num_samples=64',
    'test_dataloader.dataset.num_samples=64'
]


def _tool(name):
    sys.path.insert(0, TOOLS)
    spec = importlib.util.spec_from_file_location(
        f'rq_tool_{name}', osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(tmp_path, *options, config=MAIN, extra=()):
    return _tool('train').main([
        config, '--work-dir',
        str(tmp_path / 'work'), *extra, '--cfg-options', *SMALL, *options
    ])


def run_test_tool(config, checkpoint, tmp_path, *extra):
    return _tool('test').main([
        config,
        str(checkpoint), '--work-dir',
        str(tmp_path / 'test'), *extra, '--cfg-options', *SMALL
    ])


# ----------------------------------------------------------- schedules
def _train_recording_lr(tmp_path, config, *options):
    """Train ``config`` with tools/train.py's code; the lr of every
    iteration and the runner."""
    from mmengine.hooks import Hook
    lrs = []

    class Record(Hook):

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    tool = _tool('train')
    args = tool.parse_args([
        str(config), '--work-dir',
        str(tmp_path), '--cfg-options', *options, *SMALL
    ])
    cfg = tool.merge_train_args(tool.load_config(args), args)
    runner = tool.build_runner(cfg)
    runner.register_hook(Record())
    runner.train()
    return lrs, runner


@pytest.mark.slow
@pytest.mark.parametrize('epochs', [2, 20])
def test_the_lr_schedule_follows_max_epochs(tmp_path, epochs):
    lrs, runner = _train_recording_lr(tmp_path, MAIN,
                                      f'train_cfg.max_epochs={epochs}',
                                      'train_cfg.val_interval=100')
    per_epoch = 2  # 128 samples, batch 64
    assert len(lrs) == epochs * per_epoch
    base = runner.cfg.optim_wrapper.optimizer.lr
    assert lrs[0] == pytest.approx(0.1 * base)  # warm-up start factor
    assert lrs[per_epoch] == pytest.approx(base)  # warm-up ends at epoch 1
    assert max(lrs) == pytest.approx(base)
    assert lrs[-1] == pytest.approx(0., abs=1e-12)  # eta_min, last iteration
    assert all(a >= b for a, b in zip(lrs[per_epoch:], lrs[per_epoch + 1:]))


def test_zero_epochs_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='max_epochs is 0: nothing would'):
        train(tmp_path, 'train_cfg.max_epochs=0')


@pytest.mark.slow
def test_a_run_that_ends_inside_the_warm_up_trains_with_one_warning(tmp_path):
    # the paper's schedule: 2.5 warm-up epochs, then the cosine
    from mmengine.config import Config
    paper = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'schedules', 'sgd_30e.py'))
    config = tmp_path / 'one_epoch.py'
    config.write_text(f"_base_ = ['{MAIN}']\n"
                      f'param_scheduler = {paper.param_scheduler!r}\n')
    lrs, runner = _train_recording_lr(tmp_path, config,
                                      'train_cfg.max_epochs=1')
    assert runner.epoch == 1 and len(lrs) == 2
    assert 0 < lrs[0] < lrs[1] < runner.cfg.optim_wrapper.optimizer.lr
    (cosine, ) = [
        s for s in runner.param_schedulers
        if type(s).__name__ == 'CosineAnnealingToEndLR'
    ]
    assert cosine.never_starts
    log = open(runner.logger.log_file).read()
    assert log.count('the cosine phase never starts') == 1


# ------------------------------------------------- checkpoints that do not fit
def test_a_checkpoint_of_another_model_is_refused_by_test_py(tmp_path):
    from rollingq_mm.utils import CheckpointError
    with pytest.raises(CheckpointError) as error:
        run_test_tool(CONCAT, OLD_CHECKPOINT, tmp_path)
    message = str(error.value)
    assert 'does not fit this model' in message
    assert ('unexpected key(s): neck.cls_token, neck.layers.0.kv.bias'
            in message)
    assert "experiment 'rollingq_synthetic_20261123_120841' (config " \
           'rollingq_synthetic.py)' in message
    assert '--non-strict' in message


def test_non_strict_loads_what_fits_when_asked(tmp_path):
    metrics = run_test_tool(CONCAT, OLD_CHECKPOINT, tmp_path, '--non-strict')
    assert 'accuracy/top1' in metrics


def test_the_first_release_checkpoint_still_loads_and_evaluates(tmp_path):
    metrics = run_test_tool(MAIN, OLD_CHECKPOINT, tmp_path)
    assert metrics['accuracy/top1'] > 20  # trained 2 epochs on 256 samples
    from rollingq_mm.utils import load_checkpoint_file
    checkpoint = load_checkpoint_file(
        OLD_CHECKPOINT, modalities=['audio', 'visual'])
    assert not any('air_history' in key for key in checkpoint['state_dict'])
    # converted once, at load, into RollingQHook's state
    checks = checkpoint['meta']['rollingq_hook']['checks'][
        'neck.layers.0.rolling_query']
    assert [(c['epoch'], c['rotated']) for c in checks] == [(1, True),
                                                            (2, True)]
    assert list(checks[0]['cosines']) == ['audio', 'visual']


@pytest.mark.slow
def test_the_first_release_checkpoint_resumes_with_its_history(tmp_path):
    runner = train(
        tmp_path,
        'train_cfg.max_epochs=3',
        'custom_hooks.0.max_rotations=2',
        extra=['--resume', OLD_CHECKPOINT])
    hook = next(h for h in runner.hooks if type(h).__name__ == 'RollingQHook')
    checks = hook.history['neck.layers.0.rolling_query']
    assert [(c.epoch, c.rotated) for c in checks] == [(1, True), (2, True),
                                                      (3, False)]
    assert list(checks[0].cosines) == ['audio', 'visual']
    assert checks[2].reason == 'cap reached (2 of max_rotations=2)'


def _copy(tmp_path, name='copy.pth'):
    path = tmp_path / name
    shutil.copy(OLD_CHECKPOINT, path)
    return path


def test_a_damaged_file_is_a_clear_error(tmp_path):
    from rollingq_mm.utils import CheckpointError
    truncated = _copy(tmp_path, 'truncated.pth')
    data = truncated.read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='is damaged'):
        run_test_tool(MAIN, truncated, tmp_path)
    flipped = _copy(tmp_path, 'flipped.pth')
    data = bytearray(flipped.read_bytes())
    middle = len(data) // 2  # inside a weight tensor's record
    data[middle:middle + 64] = bytes(64)
    flipped.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match='fails its CRC check'):
        run_test_tool(MAIN, flipped, tmp_path)


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path):
    from rollingq_mm.utils import CheckpointError, load_checkpoint_file
    checkpoint = load_checkpoint_file(OLD_CHECKPOINT)
    checkpoint['state_dict']['head.fc.weight'][0, 0] = float('nan')
    path = tmp_path / 'nan.pth'
    torch.save(checkpoint, path)
    with pytest.raises(
            CheckpointError,
            match=r'NaN/inf in 1 tensor\(s\): head.fc.weight'):
        run_test_tool(MAIN, path, tmp_path)


# ------------------------------------------------------------ safe loading
class CreatesADirectory:
    """Unpickling this runs os.mkdir: code execution from a checkpoint."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path, )


def _malicious(tmp_path):
    from rollingq_mm.utils import load_checkpoint_file
    checkpoint = load_checkpoint_file(OLD_CHECKPOINT)
    marker = tmp_path / 'code_ran'
    checkpoint['meta']['note'] = CreatesADirectory(str(marker))
    path = tmp_path / 'malicious.pth'
    torch.save(checkpoint, path)
    return path, marker


@pytest.mark.parametrize('route', ['test.py', 'load_from', '--resume'])
def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, route):
    from rollingq_mm.utils import CheckpointError
    path, marker = _malicious(tmp_path)
    with pytest.raises(
            CheckpointError,
            match=r'needs the type posix.mkdir.*--trust-checkpoint'):
        if route == 'test.py':
            run_test_tool(MAIN, path, tmp_path)
        elif route == 'load_from':
            train(tmp_path, 'train_cfg.max_epochs=2', f'load_from={path}')
        else:
            train(
                tmp_path,
                'train_cfg.max_epochs=2',
                extra=['--resume', str(path)])
    assert not marker.exists()


@pytest.mark.slow
def test_importing_the_package_leaves_mmengines_loader_alone():
    code = ('from mmengine.runner.checkpoint import CheckpointLoader as C\n'
            'before = C._schemes[""]\n'
            'import rollingq_mm\n'
            'from rollingq_mm import registry, engine, models, utils\n'
            'registry.MODELS.get("AttentionFusion")\n'
            'assert C._schemes[""] is before, C._schemes[""]\n'
            'print(before.__module__)\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'mmengine.runner.checkpoint' in out.stdout


# -------------------------------------------------------------- divergence
@pytest.mark.slow
def test_a_diverging_run_stops_at_the_first_non_finite_loss(tmp_path):
    with pytest.raises(FloatingPointError) as error:
        train(tmp_path, 'train_cfg.max_epochs=3',
              'optim_wrapper.optimizer.lr=1e12')
    message = str(error.value)
    assert re.search(r'the loss is (nan|inf) .* at epoch 1, iteration \d',
                     message)
    assert 'no checkpoint was saved yet' in message
    assert not (tmp_path / 'work' / 'epoch_3.pth').exists()


# ---------------------------------------------------- typos, impossible values
def test_a_typo_in_cfg_options_names_the_closest_key(tmp_path):
    with pytest.raises(
            KeyError, match="no key 'randomnes'; did you mean "
            'randomness'):
        train(tmp_path, 'randomnes.seed=3')
    with pytest.raises(
            KeyError,
            match="custom_hooks.0 has no key 'sigmaa'; "
            'did you mean sigma'):
        train(tmp_path, 'custom_hooks.0.sigmaa=1.0')
    with pytest.raises(KeyError, match="model.neck has no key 'num_head'"):
        train(tmp_path, 'model.neck.num_head=2')


def test_cfg_options_accept_real_arguments_and_explicit_new_keys():
    from mmengine.config import Config

    from rollingq_mm.utils.cfg_options import check_cfg_options
    cfg = Config.fromfile(MAIN)
    check_cfg_options(
        cfg,
        {
            'custom_hooks.0.max_rotations':
            None,  # a hook argument left default
            'model.head.init_cfg.type':
            'Normal',  # an argument, then new dicts
            'train_cfg.val_begin': 2,  # an argument of EpochBasedTrainLoop
            'randomness.seed': 3,
            'work_dir': 'x',
            'load_from': 'y'
        })
    with pytest.raises(KeyError):
        check_cfg_options(cfg, {'my_extra': 1})
    check_cfg_options(cfg, {'my_extra': 1}, allow_new_keys=True)


# ------------------------------------------------------ fail before work
def test_rollingq_on_one_modality_fails_before_the_first_iteration(tmp_path):
    unimodal = osp.join(ROOT, 'configs', 'baselines',
                        'unimodal-audio_synthetic.py')
    config = tmp_path / 'attention_audio_only.py'
    config.write_text(
        f"_base_ = ['{unimodal}']\n"
        "model = dict(neck=dict(_delete_=True, type='AttentionFusion', "
        "embed_dims=64))\n"
        "custom_hooks = [dict(type='RollingQHook')]\n")
    with pytest.raises(RuntimeError, match="single modality \\['audio'\\]"):
        train(tmp_path, config=str(config))
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_a_metric_field_the_dataset_lacks_fails_before_work(tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        np.savez(
            tmp_path / f'{split}.npz',
            audio=rng.standard_normal((64, 1, 32, 32)).astype('f4'),
            visual=rng.standard_normal((64, 3, 32, 32)).astype('f4'),
            label=np.arange(64) % 8)
    config = tmp_path / 'mine.py'
    config.write_text(
        f"_base_ = ['{MAIN}']\n"
        "_data = dict(type='MultimodalArrayDataset', "
        "modalities=['audio', 'visual'], pipeline={{_base_.pipeline}})\n"
        "train_dataloader = dict(dataset=dict(_delete_=True, "
        f"ann_file='{tmp_path}/train.npz', **_data))\n"
        "val_dataloader = dict(dataset=dict(_delete_=True, "
        f"ann_file='{tmp_path}/val.npz', **_data))\n"
        "test_dataloader = val_dataloader\n")
    with pytest.raises(
            KeyError,
            match=r"GroupedAccuracy in the val evaluator "
            r"needs the per-sample field\(s\) \['corrupted'\]"):
        _tool('train').main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_a_label_the_head_cannot_score_fails_before_work(tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    labels = np.arange(64) % 8
    labels[[5, 41]] = 8  # the head has num_classes=8; no 'classes' given
    np.savez(
        tmp_path / 'train.npz',
        audio=rng.standard_normal((64, 1, 32, 32)).astype('f4'),
        visual=rng.standard_normal((64, 3, 32, 32)).astype('f4'),
        label=labels)
    config = tmp_path / 'mine.py'
    config.write_text(
        f"_base_ = ['{MAIN}']\n"
        "train_dataloader = dict(dataset=dict(_delete_=True, "
        "type='MultimodalArrayDataset', modalities=['audio', 'visual'], "
        f"ann_file='{tmp_path}/train.npz', pipeline={{{{_base_.pipeline}}}}))"
        "\n")
    with pytest.raises(
            ValueError,
            match=r"the train dataset \(MultimodalArrayDataset\) "
            r"\(.*train.npz\) has 2 sample\(s\) whose label is outside "
            r"\[0, 8\) of model.head.num_classes=8: label 8 at sample 5, "
            r"label 8 at sample 41"):
        _tool('train').main([str(config), '--work-dir', str(tmp_path / 'w')])
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()


def test_dataset_and_model_modalities_must_match(tmp_path):
    with pytest.raises(
            KeyError,
            match=r"gives the modalities \['audio'\] but "
            r"the model has \['audio', 'visual'\]"):
        train(tmp_path, "train_dataloader.dataset.modalities=['audio']",
              "train_dataloader.dataset.pipeline.0.modalities=['audio']")


# --------------------------------------------------------------- README
def _readme_work_dirs():
    """(command, work dir) of every training example in the README."""
    text = open(osp.join(ROOT, 'README.md')).read()
    found = []
    for line in text.splitlines():
        match = re.search(r'(?:tools/train.py|tools/dist_train.sh) (\S+)',
                          line)
        if not match or 'CONFIG' in line or line.lstrip().startswith('|'):
            continue
        config = match.group(1)
        work = re.search(r'--work-dir (\S+)', line)
        found.append((line.strip(), work.group(1) if work else osp.join(
            'work_dirs',
            osp.splitext(osp.basename(config))[0])))
    return found


def test_readme_examples_do_not_share_a_work_dir():
    examples = _readme_work_dirs()
    assert len(examples) >= 3
    dirs = [work for _, work in examples]
    shared = {d for d in dirs if dirs.count(d) > 1}
    assert not shared, [cmd for cmd, work in examples if work in shared]


# ---------------------------------------------------------------- import
def test_import_rollingq_mm_is_light():
    code = ('import sys, rollingq_mm\n'
            'print(sorted(m for m in ("torch", "mmpretrain", "mmengine") '
            'if m in sys.modules))\n')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         cwd=ROOT)
    assert out.stdout.strip() == '[]'
