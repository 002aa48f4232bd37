import numpy as np
import pytest

from rollingq_mm.datasets.transforms import CorruptModality, sample_noise_level


def _results(index=3, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        sample_idx=index,
        audio=(2.0 + 3.0 * rng.standard_normal(
            (1, 200, 200))).astype(np.float32))


def test_add_noise_has_the_requested_std_and_is_deterministic():
    clean = _results()['audio']
    out = CorruptModality('audio', level=0.5)(_results())
    noise = out['audio'] - clean
    assert noise.std() == pytest.approx(0.5 * clean.std(), rel=0.05)
    assert abs(noise.mean()) < 0.05
    again = CorruptModality('audio', level=0.5)(_results())
    assert np.array_equal(out['audio'], again['audio'])
    other = CorruptModality('audio', level=0.5)(_results(index=4))
    assert not np.array_equal(out['audio'], other['audio'])
    assert out['noise_level'] == {'audio': 0.5} and out['corrupted'] == 'audio'
    untouched = CorruptModality('audio', level=0.0)(_results())
    assert np.array_equal(untouched['audio'], clean)
    assert 'corrupted' not in untouched


def test_replace_keeps_mean_and_std_and_drops_the_signal():
    clean = _results()['audio']
    out = CorruptModality('audio', mode='replace')(_results())['audio']
    assert out.mean() == pytest.approx(clean.mean(), abs=0.05)
    assert out.std() == pytest.approx(clean.std(), rel=0.05)
    assert abs(np.corrcoef(out.ravel(), clean.ravel())[0, 1]) < 0.02


def test_random_level_is_reproducible():
    out = CorruptModality(
        'audio', level='random', max_level=2.0, seed=5)(
            _results(index=9))
    assert out['noise_level']['audio'] == sample_noise_level(
        5, 9, 'audio', 2.0)
    assert 0 <= out['noise_level']['audio'] <= 2.0


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='mode'):
        CorruptModality('audio', mode='mask')
    with pytest.raises(ValueError, match='level'):
        CorruptModality('audio', level=-1)
    with pytest.raises(KeyError, match="no modality 'visual'"):
        CorruptModality('visual')(_results())


def test_two_modalities_get_independent_noise_recorded_in_the_metainfo():
    from rollingq_mm.datasets.transforms import PackMultimodalInputs
    results = _results()
    results['visual'] = results['audio'].copy()  # the same clean data
    results['gt_label'] = 1
    for name in ('audio', 'visual'):
        results = CorruptModality(name, level=0.5)(results)
    noise_a = results['audio'] - _results()['audio']
    noise_v = results['visual'] - _results()['audio']
    assert abs(np.corrcoef(noise_a.ravel(), noise_v.ravel())[0, 1]) < 0.02
    assert results['corrupted'] == 'audio+visual'
    sample = PackMultimodalInputs(['audio', 'visual'])(results)['data_samples']
    assert sample.noise_level == {'audio': 0.5, 'visual': 0.5}
    assert sample.corrupted == 'audio+visual'


def test_the_same_sample_is_corrupted_the_same_way_in_every_worker():
    import pickle
    transform = CorruptModality('audio', level='random', max_level=2.0)
    # a worker process gets its own (pickled) copy; epochs call it again
    copies = [transform, pickle.loads(pickle.dumps(transform))]
    outs = [t(_results(index=7))['audio'] for t in copies for _ in range(2)]
    assert all(np.array_equal(outs[0], out) for out in outs[1:])
