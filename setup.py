"""rollingq_mm: RollingQ (ICML 2025) as an OpenMMLab plugin."""
import os.path as osp
from setuptools import find_packages, setup


def read_version() -> str:
    scope = {}
    with open(osp.join('rollingq_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


EXTRAS = {
    # Pure-Python mmcv without compiled ops; leave it out with full mmcv.
    'lite': ['mmcv-lite>=2.0.0'],
    # CREMA-D from wav files: soundfile decodes, soxr resamples as librosa
    # does by default (librosa itself is not needed).
    'audio': ['soundfile>=0.12', 'soxr>=0.3'],
    # Converters: the audio track of videos (Kinetics-Sounds) with PyAV;
    # frames are decoded with OpenCV, which mmcv already requires.
    'video': ['av>=10'],
    # AV-Digits: FSDD wav files and scikit-learn's bundled handwritten digits
    'av_digits': ['soundfile>=0.12', 'scikit-learn>=1.0'],
    'analysis': ['matplotlib>=3.5'],
    # librosa: the tests compute the authors' recipe with their library
    'tests': [
        'pytest>=7', 'soundfile>=0.12', 'soxr>=0.3', 'librosa>=0.10',
        'av>=10', 'matplotlib>=3.5', 'scikit-learn>=1.0', 'flake8>=7',
        'isort>=5.13'
    ],
}
EXTRAS['all'] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name='rollingq_mm',
    version=read_version(),
    description='RollingQ (ICML 2025): reviving the cooperation dynamics of '
    'multimodal Transformers, as an OpenMMLab plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['rollingq_mm', 'rollingq_mm.*']),
    # The minimums, each the lowest version with which the fast test lane
    # passes (measured once: Python 3.9, torch 2.5.1, torchvision 0.20.1,
    # mmengine 0.10.0, mmcv-lite 2.0.0, mmpretrain 1.2.0, timm 1.0.11,
    # numpy 2.0.2; the command is in docs/install.md). torch 2.5: the
    # checkpoint loader's torch.serialization.safe_globals; timm 1.0.11:
    # num_features is forward_features' width and a local checkpoint's
    # pretrained_strict reaches every model's builder.
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.5',
        'torchvision>=0.20',
        'mmengine>=0.10.0,<1.0',
        'mmpretrain>=1.2.0',
        'timm>=1.0.11',
        'numpy',
        # mmengine imports pkg_resources, which setuptools 82 removed.
        'setuptools<82',
    ],
    extras_require=EXTRAS,
    include_package_data=True,
    zip_safe=False,
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
