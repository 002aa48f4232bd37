"""Kinetics-Sounds (31 classes, audio-visual)."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from rollingq_mm.registry import DATASETS
from .clip_dataset import AV_MODALITIES, AudioVisualClipDataset


def parse_list_line(line: str, where: str,
                    num_classes: int) -> Tuple[str, int]:
    """``id ... label`` (space- or comma-separated) -> ``(id, label)``.

    Args:
        line (str): One non-empty line of a list file.
        where (str): ``'<file>, line <n>'`` for error messages.
        num_classes (int): Labels must be in ``[0, num_classes)``.

    Returns:
        tuple: The clip id and its integer label.
    """
    fields = line.split(',') if ',' in line else line.split()
    fields = [field.strip() for field in fields if field.strip()]
    if len(fields) < 2:
        raise ValueError(f'{where}: expected "<id> ... <label>", got {line!r}')
    try:
        label = int(fields[-1])
    except ValueError:
        raise ValueError(
            f'{where}: the last field {fields[-1]!r} is not an '
            'integer label; lines are "<id> ... <label>"') from None
    if not 0 <= label < num_classes:
        raise ValueError(f'{where}: label {label} of clip {fields[0]!r} is '
                         f'outside [0, {num_classes}); check num_classes and '
                         'the list file')
    return fields[0], label


def read_list_file(path: str, num_classes: int = 31) -> List[Tuple[str, int]]:
    """A Kinetics-Sounds list file as ``[(clip_id, label)]``.

    Empty lines and lines starting with ``#`` are skipped.

    Args:
        path (str): The list file.
        num_classes (int): Labels must be in ``[0, num_classes)``.
            Defaults to 31.

    Returns:
        list[tuple]: ``(clip_id, label)`` in file order.
    """
    annotations = []
    with open(path, encoding='utf-8-sig') as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if line and not line.startswith('#'):
                annotations.append(
                    parse_list_line(line, f'{path}, line {line_no}',
                                    num_classes))
    return annotations


@DATASETS.register_module()
class KineticsSounds(AudioVisualClipDataset):
    """Kinetics-Sounds: 31 Kinetics classes whose sound is informative.

    Layout (``data_root``), as written by
    ``tools/dataset_converters/prepare_kinetics_sounds.py`` (the widely
    shared preprocessed copies use other folder names: set the prefixes)::

        ks_train.txt, ks_test.txt   one clip a line: id first, integer label
                                    last, separated by spaces or commas
                                    (``-0DdlOuIFUI_000030_000040 ... 17``)
        train_spec/<id>.npy         fbank [1024, 128] (time x mel), float32
        train_frames/<id>/frame_*.jpg   1-fps frames, in natural name order
        (test_spec/, test_frames/ likewise)

    Lines that are empty or start with ``#`` are skipped. Class names come
    from ``classes_file`` (one name a line, in label order) when given.

    Args:
        ann_file (str): The list file.
        modalities (Sequence[str]): Defaults to ``('audio', 'visual')``.
        spec_prefix (str): Folder of fbank ``.npy`` files. Defaults to
            'train_spec'.
        frame_prefix (str): Folder of frame folders. Defaults to
            'train_frames'.
        num_classes (int): Defaults to 31.
        classes_file (str, optional): Class names, relative to
            ``data_root``. Defaults to None (``class_0`` ...).
        **kwargs: See :class:`AudioVisualClipDataset` (``min_frames``,
            ``skip_missing``, ``drop_short_clips`` — 3 in the paper configs,
            the authors' filter — ``data_root``, ``pipeline``, ...).
    """

    converter = 'tools/dataset_converters/prepare_kinetics_sounds.py'

    def __init__(self,
                 ann_file: str,
                 modalities: Sequence[str] = AV_MODALITIES,
                 spec_prefix: str = 'train_spec',
                 frame_prefix: str = 'train_frames',
                 num_classes: int = 31,
                 classes_file: Optional[str] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.num_classes = num_classes
        if metainfo is None:
            classes = self._read_classes(classes_file, kwargs.get('data_root'))
            metainfo = dict(classes=classes)
        super().__init__(
            ann_file=ann_file,
            modalities=modalities,
            audio_prefix=spec_prefix,
            audio_suffix='.npy',
            frame_prefix=frame_prefix,
            metainfo=metainfo,
            **kwargs)

    def _read_classes(self, classes_file: Optional[str],
                      data_root: Optional[str]) -> Tuple[str, ...]:
        if classes_file is None:
            return tuple(f'class_{i}' for i in range(self.num_classes))
        if data_root and not osp.isabs(classes_file):
            classes_file = osp.join(data_root, classes_file)
        if not osp.isfile(classes_file):
            raise FileNotFoundError(f'KineticsSounds: classes_file '
                                    f'{classes_file!r} does not exist')
        with open(classes_file, encoding='utf-8-sig') as f:
            classes = tuple(line.strip() for line in f if line.strip())
        if len(classes) != self.num_classes:
            raise ValueError(f'{classes_file} has {len(classes)} class names '
                             f'but num_classes={self.num_classes}; one name '
                             'a line, in label order')
        return classes

    def read_annotations(self) -> List[Tuple[str, int]]:
        """Lines ``id ... label`` (space- or comma-separated)."""
        return read_list_file(self.ann_file, self.num_classes)
