"""The analysis tools end to end on a tiny embedded-default checkpoint."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'rollingq', 'rollingq_synthetic.py')
SMALL = [
    'train_dataloader.dataset.num_samples=128',
    'val_dataloader.dataset.num_samples=64',
    'test_dataloader.dataset.num_samples=64'
]


def _tool(name):
    path = osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py')
    sys.path.insert(0, osp.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('tiny')
    result = subprocess.run([
        sys.executable, 'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=2', *SMALL
    ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


@pytest.mark.slow
def test_noise_robustness(run, tmp_path):
    rows = _tool('noise_robustness').main([
        CONFIG,
        str(run / 'epoch_2.pth'), '--modality', 'audio', '--levels', '0', '1',
        '--out-dir',
        str(tmp_path), '--cfg-options', *SMALL
    ])
    assert [r['level'] for r in rows] == [0, 1]
    assert set(rows[0]) == {'level', 'accuracy', 'share_audio', 'share_visual'}
    for suffix in ('csv', 'json', 'png'):
        assert (tmp_path / f'noise_robustness_audio.{suffix}').stat().st_size
    saved = json.loads((tmp_path / 'noise_robustness_audio.json').read_text())
    assert saved['rows'] == rows
    with pytest.raises(ValueError, match='not one of'):
        _tool('noise_robustness').main(
            [CONFIG, str(run / 'epoch_2.pth'), '--modality', 'text'])


@pytest.mark.slow
def test_dynamic_adaptability(run, tmp_path):
    result = _tool('dynamic_adaptability').main([
        CONFIG,
        str(run / 'epoch_2.pth'), '--out-dir',
        str(tmp_path), '--cfg-options', *SMALL
    ])
    assert set(result['modalities']) == {'audio', 'visual'}
    for row in result['modalities'].values():
        assert -1 <= row['pearson'] <= 1
        assert 0 < row['share_clean'] < 1 and 0 < row['share_corrupted'] < 1
    assert (tmp_path / 'dynamic_adaptability.json').exists()


def test_analyse_recovers_a_known_correlation():
    import numpy as np

    from rollingq_mm.datasets.transforms import sample_noise_level
    tool = _tool('dynamic_adaptability')
    index = np.arange(50)
    quality = np.array(
        [1 - sample_noise_level(0, i, 'audio', 1.0) for i in index])
    share = np.stack([0.2 + 0.5 * quality, np.full(50, 0.3)], axis=1)
    share[0, 1] = 0.31  # not constant, so a correlation exists
    out = dict(
        sample_idx=index,
        pred=index % 2,
        label=index % 2,
        share=share,
        modalities=['audio', 'visual'])
    result = tool.analyse(out, max_level=1.0, seed=0)
    assert result['modalities']['audio']['pearson'] == pytest.approx(1.0)
    assert result['accuracy'] == 100.0


@pytest.mark.slow
def test_plot_dynamics(run, tmp_path):
    tool = _tool('plot_dynamics')
    out = tool.main([str(run), '--out', str(tmp_path / 'dyn.png')])
    assert osp.getsize(out) > 1000
    epochs = tool.read_epochs(str(run))
    assert list(epochs) == [1, 2]
    assert 'rollingq/air' in epochs[1] and 'accuracy/top1' in epochs[1]
    # the authors' procedure rotates once, at the end of epoch 1
    assert tool.rotation_epochs(epochs) == [1]
    fig = tool.figure(epochs)
    air, share, accuracy = fig.axes
    legends = [[t.get_text() for t in a.get_legend().get_texts()]
               for a in fig.axes]
    # training-time (hook) and validation series, labelled apart
    assert {'train: AIR', 'train: cos(q, k̄) audio', 'val: AIR',
            'val: cos(q, k̄) visual'} <= set(legends[0])
    assert {'train: share audio', 'val: share audio'} <= set(legends[1])
    assert {'val: top-1', 'val: probe audio'} <= set(legends[2])
    assert not any(label.startswith('train') for label in legends[2])
    for axis, labels in zip(fig.axes, legends):
        assert 'rotation (epoch end)' in labels
        # integer epoch ticks: the epochs themselves
        assert list(axis.get_xticks()) == [1, 2]
        # the rotation: one vertical line at epoch 1
        vertical = [
            line for line in axis.get_lines()
            if line.get_label() == 'rotation (epoch end)'
        ]
        assert len(vertical) == 1
        assert list(vertical[0].get_xdata()) == [1, 1]
    # the series: the hook's training AIR and the validation AIR differ
    lines = {line.get_label(): line for line in air.get_lines()}
    assert list(lines['train: AIR'].get_ydata()) == [
        epochs[1]['rollingq/air'], epochs[2]['rollingq/air']
    ]
    assert list(lines['val: AIR'].get_ydata()) == [
        epochs[1]['air'], epochs[2]['air']
    ]
    assert lines['train: AIR'].get_linestyle() != \
        lines['val: AIR'].get_linestyle()
    import matplotlib.pyplot as plt
    plt.close(fig)
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.main([str(tmp_path)])


def test_plot_dynamics_without_the_hook_marks_nothing():
    """An attention baseline: validation series only, no rotation line."""
    tool = _tool('plot_dynamics')
    epochs = {
        e: {
            'accuracy/top1': 50. + e,
            'air': 0.1 * e,
            'attention_share/audio': 0.5,
            'attention_share/audio/clean': 0.4,
            'query_key_cos/audio': 0.2
        }
        for e in range(1, 31)
    }
    assert tool.rotation_epochs(epochs) == []
    fig = tool.figure(epochs)
    for axis in fig.axes:
        labels = [line.get_label() for line in axis.get_lines()]
        assert all(label.startswith('val: ') for label in labels)
        ticks = [t for t in axis.get_xticks() if 1 <= t <= 30]
        assert ticks and all(float(t).is_integer() for t in ticks)
    shares = [line.get_label() for line in fig.axes[1].get_lines()]
    assert shares == ['val: share audio']  # per-group shares left out
    import matplotlib.pyplot as plt
    plt.close(fig)


@pytest.mark.slow
def test_the_gpu_smoke_script_runs_its_cpu_parts(tmp_path):
    """The CPU-possible half of tools/analysis_tools/gpu_smoke.py --quick:
    the GPU-only steps are reported as skipped, the rest must pass."""
    import torch
    result = subprocess.run([
        sys.executable, 'tools/analysis_tools/gpu_smoke.py', '--quick',
        '--out-dir',
        str(tmp_path)
    ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            timeout=1200)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert '| rollingq --compile | ok |' in out
    assert '| resume on 1 process | ok |' in out
    if not torch.cuda.is_available():
        assert '| rollingq --amp | skipped | 0 | needs CUDA |' in out
