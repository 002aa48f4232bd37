"""tools/analysis_tools/gblending_weights.py: the offline G-Blend estimate
on a held-out part of the training split, read back by GBlending."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from rollingq_mm.models.balancers import GBlending

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'balance', 'gblending-concat_synthetic.py')


@pytest.mark.slow
def test_the_estimate_is_written_and_read_back(tmp_path):
    out = tmp_path / 'weights.json'
    result = subprocess.run([
        sys.executable, 'tools/analysis_tools/gblending_weights.py', CONFIG,
        '--epochs', '2', '--holdout', '0.25', '--out',
        str(out), '--work-dir',
        str(tmp_path / 'runs'), '--cfg-options',
        'train_dataloader.dataset.num_samples=192'
    ],
                            cwd=ROOT,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    weights, estimates = report['weights'], report['estimates']
    assert set(weights) == {'audio', 'visual', 'fused'}
    assert sum(weights.values()) == pytest.approx(1.)
    for head, est in estimates.items():
        # the paper's quantities from the four measured losses
        gain = est['held_out_start'] - est['held_out_end']
        delta_o = (est['held_out_end'] - est['train_end']) - (
            est['held_out_start'] - est['train_start'])
        assert est['delta_g'] == pytest.approx(gain)
        assert est['delta_o'] == pytest.approx(delta_o)
        assert est['raw_weight'] == pytest.approx(
            max(gain, 0) / max(delta_o**2, 1e-12))
    total = sum(e['raw_weight'] for e in estimates.values())
    for head in weights:
        assert weights[head] == pytest.approx(
            estimates[head]['raw_weight'] / total)
    assert GBlending(weights=str(out)).weights == weights
    # three separate trainings: one per unimodal model and the fused one
    assert sorted(p.name for p in (tmp_path / 'runs').iterdir()) == [
        'audio', 'fused', 'visual'
    ]


def test_a_missing_estimate_names_the_tool(tmp_path):
    with pytest.raises(FileNotFoundError, match='gblending_weights.py'):
        GBlending(weights=str(tmp_path / 'none.json'))
    with pytest.raises(ValueError, match='fused'):
        GBlending(weights=dict(audio=1.))
