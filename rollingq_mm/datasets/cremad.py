"""CREMA-D (6 emotions, audio-visual)."""
import csv
from typing import List, Optional, Sequence, Tuple

from rollingq_mm.registry import DATASETS
from .clip_dataset import AV_MODALITIES, AudioVisualClipDataset


@DATASETS.register_module()
class CremaD(AudioVisualClipDataset):
    """CREMA-D: 6 emotions, 6,698 train / 744 test clips (common split).

    Layout (``data_root``), as written by
    ``tools/dataset_converters/prepare_cremad.py``::

        train.csv, test.csv     rows ``clip_id,LABEL`` (utf-8, BOM or not),
                                e.g. ``1001_DFA_ANG_XX,ANG``
        AudioWAV/<clip_id>.wav  the release's audio (16 kHz)
        Image-01-FPS/<clip_id>/*.jpg   1-fps frames, in natural name order
        spec/<clip_id>.npy      optional: spectrograms [257, 188]

    Labels: NEU HAP SAD FEA DIS ANG -> 0..5 (the reference code's order).
    ``audio_path`` is the wav, or with ``spec_prefix`` the ``.npy`` file;
    ``LoadAudioSpectrogram`` reads either.

    Args:
        ann_file (str): ``train.csv`` or ``test.csv``.
        modalities (Sequence[str]): Defaults to ``('audio', 'visual')``.
        audio_prefix (str): Defaults to 'AudioWAV'.
        spec_prefix (str, optional): Folder of precomputed spectrograms;
            when set, ``audio_path`` points there (no STFT per epoch).
            Defaults to None.
        frame_prefix (str): Defaults to 'Image-01-FPS'.
        **kwargs: See :class:`AudioVisualClipDataset`.
    """

    METAINFO = dict(classes=('NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG'))
    converter = 'tools/dataset_converters/prepare_cremad.py'

    def __init__(self,
                 ann_file: str,
                 modalities: Sequence[str] = AV_MODALITIES,
                 audio_prefix: str = 'AudioWAV',
                 spec_prefix: Optional[str] = None,
                 frame_prefix: str = 'Image-01-FPS',
                 **kwargs):
        self.spec_prefix = spec_prefix
        super().__init__(
            ann_file=ann_file,
            modalities=modalities,
            audio_prefix=spec_prefix or audio_prefix,
            audio_suffix='.npy' if spec_prefix else '.wav',
            frame_prefix=frame_prefix,
            **kwargs)

    def read_annotations(self) -> List[Tuple[str, int]]:
        """Rows ``clip_id,LABEL``; an unknown label names its row."""
        classes = self.METAINFO['classes']
        label_map = {name: index for index, name in enumerate(classes)}
        annotations = []
        with open(self.ann_file, encoding='utf-8-sig', newline='') as f:
            for row_no, row in enumerate(csv.reader(f), start=1):
                if not row or not ''.join(row).strip():
                    continue
                if len(row) < 2:
                    raise ValueError(
                        f'{self.ann_file}, row {row_no}: expected '
                        f'"clip_id,LABEL", got {",".join(row)!r}')
                clip_id, label = row[0].strip(), row[1].strip()
                if label not in label_map:
                    raise ValueError(
                        f'{self.ann_file}, row {row_no}: unknown label '
                        f'{label!r} for clip {clip_id!r}; allowed labels: '
                        f'{", ".join(classes)}')
                annotations.append((clip_id, label_map[label]))
        return annotations
